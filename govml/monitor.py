"""Monitoring: feature and score drift, calibration drift, and new-abuse trends.

Two questions, two tools.

**Has the population moved?** :func:`drift_report` compares a *current* window with a
*reference* window (e.g. the training period) feature by feature, for the model score,
per market and overall, with the population stability index (PSI), and, once labels
have matured, compares calibration (expected vs observed rate per score bin, ECE).

**Is something new happening somewhere?** :func:`detect_trends` watches every
segment (market x category) day by day and raises an alert when a segment's daily
behaviour breaks from its own recent past while the rest of the platform does not:
the way a new abuse pattern (e.g. viewer bots in one market) first shows.
:func:`evaluate_trend_detection` scores the alerts against a simulated world's
:class:`~govml.simulation.InjectedPattern` (detection lag and false alerts).

Population stability index
--------------------------
For one feature (or score) and one market, rows of the reference window are binned and
the current window's rows are put in the same bins::

    PSI = sum over bins i of (c_i - r_i) * ln(c_i / r_i)

where ``r_i`` and ``c_i`` are the shares of reference and current rows in bin ``i``,
each floored at ``epsilon`` (default 1e-4) so an empty bin contributes a finite amount
(a level absent from the reference but common now contributes a lot, as it should).

* numeric: ``n_bins`` (10) bins with edges at the reference's quantiles (ties merged,
  so a feature that is mostly zero gets fewer bins); a bin holds ``[edge_i, edge_i+1)``;
  values beyond the reference range fall in the outer bins;
* categorical: one bin per level seen in either window;
* missing values (NaN) are a bin of their own, in both kinds: a feature that starts
  arriving empty drifts.

Bins come from the market's own reference rows, so ``market="VN"`` compares VN with VN;
the ``"ALL"`` rows compare the whole population. Status: ``ok`` below ``warn_at``
(default 0.1), ``warning`` from ``warn_at``, ``alert`` from ``alert_at`` (default 0.25),
the conventional PSI reading (below 0.1 no real change, 0.1-0.25 a moderate shift
worth a look, above 0.25 a major shift); ``insufficient`` when either window holds
fewer than ``min_rows`` rows of that market (PSI is still reported, but a PSI from a
few dozen rows is mostly noise).

Calibration drift
-----------------
With a label column (rows whose label is still unknown are NaN and left out) the
report bins each window's labelled scores at the reference's score quantiles and lists,
per bin, the mean score (expected rate) and the label rate (observed rate). The
expected calibration error ``ECE = sum_b n_b / n * |expected_b - observed_b|`` is
given per window and market; status ``alert`` when the current ECE exceeds the
reference's by more than ``ece_tolerance`` (default 0.05).

New-trend detection
-------------------
From a session-level frame (e.g. :func:`govml.session_features`) with a time column,
the segment columns and numeric features (default: the session's own metrics, plus the
model score when a model or score column is given):

1. **Same-day standardisation.** Each value becomes
   ``u = (x - median) / (IQR / 1.349)`` with the median and IQR of that feature over
   *every* row of the same UTC day (all segments), clipped to ``[-clip, clip]``
   (default 10; when the IQR is 0 the mean absolute deviation x 1.2533 is the scale).
   A platform-wide swing (a mega-sale day, a payday weekend, an app release) moves the
   median with it and disappears; a heavy tail (a few sessions with tiny audiences and
   huge per-viewer rates) cannot dominate a segment's mean.
2. **Daily segment aggregates.** Per segment and day, the mean of ``u`` per feature,
   with its row count and within-day variance.
3. **Robust z against the segment's own past.** For day ``d`` the baseline is the same
   segment's aggregates on days ``d - baseline_days .. d - 1`` (default 28; days under
   the volume guard left out; at least ``min_baseline_days``, default 14)::

       z = (a_d - median(baseline)) / scale
       scale = max(1.4826 * MAD(baseline) * sqrt(n_typical / n_d),
                   sqrt(pooled within-day variance of the baseline / n_d))

   where ``n_typical`` is the baseline's median daily count: a day with fewer rows than
   usual has a noisier mean, and the second term floors the scale at the sampling noise
   when the baseline happened to be very flat.
4. **Alert** when the segment-day has at least ``min_sessions`` rows (default 20, the
   minimum-volume guard) and its strongest aggregate has ``|z| >= threshold``
   (default 6). The alert names the segment, the day, the model score's mean and z,
   and the ``top`` aggregates by ``|z|`` with their reason groups.

Point in time: an alert for day ``d`` uses only rows whose time falls on day ``d`` or
earlier, so it is known at the end of day ``d`` (``known_at``) and rows appended later
never change it (tested). A pattern that moves most segments at once is, by
construction, treated as a platform-wide swing; that is the drift report's job.

Trailing or frozen baseline
---------------------------
``baseline="trailing"`` (the default, step 3) adapts: once a persistent pattern fills
half of the trailing window its median *is* the pattern and the alerts stop, about two
weeks after the onset. That suits a feed of what is *new* and absorbs slow legitimate
change, but a moderator who missed the first days never sees the pattern again.
``baseline="frozen"`` is the drift report's fixed reference applied to trends: the
baseline statistics of step 3 (median, MAD, typical count, pooled within-day variance)
come once from each segment's days in a ``reference`` window (default: the first
``baseline_days`` days of the data; better: a period known to be clean, such as the
training window), and every later day is compared with them. A pattern then stays
flagged for as long as it lasts and stops the day it ends. Days up to the end of the
reference get no z (``no_baseline``: their baseline is not known yet, so point in time
holds); a segment with fewer than ``min_baseline_days`` reference days of at least
``min_sessions`` sessions is never monitored. The price: legitimate slow change within
one segment also accumulates against a fixed reference, so refresh it after a review
(e.g. at each retraining).

Rejected alternative: a trailing baseline that leaves out alerted days (each day against
the segment's last ``baseline_days`` non-alerted days). Days on which the pattern happens
to stay under the threshold enter the baseline and drag it along, and the baseline's
reach back in time is unbounded. A prototype on the quickstart world below kept the
pattern flagged on 59 of its 90 days (87 when days with ``|z| >= 4`` were left out too)
and raised 17 false alerts (0.42 per week, 14 of them on mega-sale days) against the
trailing baseline's 2: adaptive where it should not be, and noisier than both.

Measured on the quickstart world (``govml.simulate(n_creators=3000, n_days=300,
seed=7)``, ``detect_trends(govml.session_features(world.tables), ...)``, viewer bots in
VN from 2026-03-13 to the end of the data, 90 days; counts from
:func:`evaluate_trend_detection` with the creators table):

================================  ===  ============  ====  ========================
baseline                          lag  days flagged  true  false alerts (per week)
================================  ===  ============  ====  ========================
trailing (default)                0    11 of 90      18    2 in 40.9 weeks (0.05)
frozen, first 28 days (default)   0    90 of 90      288   3 in 38.9 weeks (0.08)
frozen, the training window       0    88 of 90      251   0 in 17.7 weeks (0.00)
================================  ===  ============  ====  ========================

"Days flagged": days from the onset with an alert in a VN segment (the trailing
baseline's last comes 15 days after the onset). The default reference is 2025-08-15 ..
2025-09-11; the training window ``reference=("2025-08-15", "2026-02-07")`` (``govml
monitor --reference 2025-08-15:2026-02-07 --trend-baseline frozen``) also gives thin VN
electronics a baseline (5 VN segments alert instead of 4). Every frozen alert after the
onset names ``peak_ratio`` first, and no segment outside VN alerted after the onset in
any of the three. On seeds 1, 2 and 3 of the same world the frozen default flagged 88,
86 and 90 of the 90 days (3, 0 and 1 false alerts), the trailing baseline 8, 7 and 10.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from govml.monitor import drift_report
>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"market": ["ID"] * 500, "x": rng.normal(0, 1, 500)})
>>> cur = pd.DataFrame({"market": ["ID"] * 500, "x": rng.normal(1, 1, 500)})
>>> drift_report(ref, cur, features=["x"]).frame[["feature", "market", "status"]]
  feature market status
0       x    ALL  alert
1       x     ID  alert
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from govml._exceptions import MonitorError
from govml._time import to_utc

if TYPE_CHECKING:  # pragma: no cover
    from govml.model import GovmlModel
    from govml.simulation import InjectedPattern

__all__ = [
    "WARN_AT",
    "ALERT_AT",
    "EPSILON",
    "DRIFT_STATUSES",
    "TREND_STATUSES",
    "psi",
    "DriftReport",
    "drift_report",
    "TrendReport",
    "detect_trends",
    "TrendDetectionScore",
    "evaluate_trend_detection",
]

#: Default PSI from which a feature is a ``warning`` (a moderate shift worth a look).
WARN_AT = 0.1
#: Default PSI from which a feature is an ``alert`` (a major shift).
ALERT_AT = 0.25
#: Floor of a bin's share in the PSI formula (keeps empty bins finite).
EPSILON = 1e-4
#: Status values of :attr:`DriftReport.frame`, mildest first.
DRIFT_STATUSES = ("ok", "warning", "alert", "insufficient")
#: Status values of :attr:`TrendReport.daily`.
TREND_STATUSES = ("ok", "alert", "low_volume", "no_baseline")
#: Market label of the rows that cover the whole population.
ALL = "ALL"

_DAY_US = 86_400_000_000
_MAD_TO_SD = 1.4826
_IQR_TO_SD = 1.349
_MEAN_ABS_TO_SD = 1.2533
_MIN_COMMON_SEGMENTS = 3
_BASELINES = ("trailing", "frozen")


# ============================================================================ helpers


def _frame_of(
    data: Any, name: str
) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...], str | None]:
    """``(frame, features, categorical, time_col)`` of a DataFrame or a FeatureSet."""
    if isinstance(data, pd.DataFrame):
        return data, (), (), None
    frame = getattr(data, "frame", None)
    if isinstance(frame, pd.DataFrame):
        return (
            frame,
            tuple(getattr(data, "features", ())),
            tuple(getattr(data, "categorical", ())),
            getattr(data, "time_col", None),
        )
    raise MonitorError(
        f"{name} is a {type(data).__name__}; expected a pandas DataFrame or a govml "
        "FeatureSet (e.g. from govml.session_features)"
    )


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MonitorError(
            f"{name} lacks column(s) {missing}; it has {len(frame.columns)} columns "
            f"(e.g. {list(frame.columns[:6])}): pass frames that hold every monitored "
            "column, or name the columns to monitor with features="
        )


def _check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise MonitorError(f"{name}={value!r} must be an integer >= {minimum}")
    return int(value)


def _check_positive_float(value: Any, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    if not math.isfinite(out) or out <= 0:
        raise MonitorError(f"{name}={value!r} must be a positive finite number")
    return out


def _is_categorical(series: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)
    )


def _status(
    psi_value: float, n_ref: int, n_cur: int, warn_at: float, alert_at: float, min_rows: int
) -> str:
    if min(n_ref, n_cur) < min_rows or not math.isfinite(psi_value):
        return "insufficient"
    if psi_value >= alert_at:
        return "alert"
    if psi_value >= warn_at:
        return "warning"
    return "ok"


# ============================================================================ PSI


def _numeric_codes(
    ref: np.ndarray, cur: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Bin codes of both windows: quantile bins of the reference, NaN in the last bin."""
    finite = ref[np.isfinite(ref)]
    if len(finite):
        inner = np.quantile(finite, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
        edges = np.unique(inner)
    else:
        edges = np.empty(0)
    nan_bin = len(edges) + 1

    def codes(x: np.ndarray) -> np.ndarray:
        out = np.searchsorted(edges, x, side="right")
        out[np.isnan(x)] = nan_bin
        return out

    return codes(ref), codes(cur), nan_bin + 1


def _categorical_codes(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """One bin per level seen in either window; missing values in the last bin."""
    both = pd.concat(
        [ref.astype(object).reset_index(drop=True), cur.astype(object).reset_index(drop=True)],
        ignore_index=True,
    )
    codes, levels = pd.factorize(both, use_na_sentinel=True)
    nan_bin = len(levels)
    codes = np.where(codes < 0, nan_bin, codes)
    return codes[: len(ref)], codes[len(ref) :], nan_bin + 1


def _psi_from_codes(ref: np.ndarray, cur: np.ndarray, n_codes: int, epsilon: float) -> float:
    if len(ref) == 0 or len(cur) == 0:
        return math.nan
    r = np.maximum(np.bincount(ref, minlength=n_codes) / len(ref), epsilon)
    c = np.maximum(np.bincount(cur, minlength=n_codes) / len(cur), epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def psi(
    reference: Any,
    current: Any,
    *,
    categorical: bool | None = None,
    n_bins: int = 10,
    epsilon: float = EPSILON,
) -> float:
    """Population stability index of one variable between two samples.

    ``sum_i (c_i - r_i) ln(c_i / r_i)`` over bins (module docstring): quantile bins of
    the reference for numbers, one bin per level for categories, missing values in a
    bin of their own, shares floored at ``epsilon``.

    Parameters
    ----------
    reference, current : array-like
        The two samples (e.g. a feature in the training window and this week).
    categorical : bool, optional
        Bin by level instead of by quantile. Default: by the dtype (numbers other than
        booleans are numeric).
    n_bins : int, default 10
        Quantile bins of a numeric variable (fewer when the reference has ties).
    epsilon : float, default 1e-4
        Floor of a bin's share.

    Returns
    -------
    float
        0 for identical distributions, larger for larger shifts; NaN if a sample is
        empty.

    Raises
    ------
    MonitorError
        ``n_bins`` or ``epsilon`` not positive, or text in a sample declared numeric.

    Examples
    --------
    >>> import numpy as np
    >>> from govml.monitor import psi
    >>> rng = np.random.default_rng(1)
    >>> a, b = rng.normal(0, 1, 10_000), rng.normal(0, 1, 10_000)
    >>> psi(a, b) < 0.01, psi(a, b + 0.5) > 0.2
    (True, True)
    >>> round(psi(["x"] * 90 + ["y"] * 10, ["x"] * 50 + ["y"] * 50), 3)
    0.879
    """
    n_bins = _check_positive_int(n_bins, "n_bins")
    epsilon = _check_positive_float(epsilon, "epsilon")
    ref = pd.Series(np.asarray(reference) if not isinstance(reference, pd.Series) else reference)
    cur = pd.Series(np.asarray(current) if not isinstance(current, pd.Series) else current)
    if categorical is None:
        categorical = _is_categorical(ref) or _is_categorical(cur)
    if categorical:
        r, c, n = _categorical_codes(ref, cur)
    else:
        r, c, n = _numeric_codes(_as_float(ref, "reference"), _as_float(cur, "current"), n_bins)
    return _psi_from_codes(r, c, n, epsilon)


def _as_float(series: pd.Series, where: str) -> np.ndarray:
    try:
        return pd.to_numeric(series, errors="raise").to_numpy(np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise MonitorError(
            f"{where} holds text in a numeric variable (e.g. {series.dropna().iloc[:3].tolist()}); "
            "declare it categorical or convert it to numbers"
        ) from None


# ============================================================================ drift report


@dataclass(frozen=True)
class DriftReport:
    """PSI per feature, score and market between a reference and a current window.

    Attributes
    ----------
    frame : DataFrame
        One row per (feature, market): ``feature``, ``kind`` (``"numeric"``,
        ``"categorical"`` or ``"score"``), ``market`` (``"ALL"`` first, then each
        market), ``n_reference``, ``n_current``, ``psi`` and ``status`` (one of
        :data:`DRIFT_STATUSES`). Features in input order (the score last).
    calibration : DataFrame or None
        Calibration per score bin, when labels were given: ``market``, ``window``
        (``"reference"``/``"current"``), ``bin``, ``lower``, ``upper`` (score range of
        the bin, from the reference), ``n``, ``expected`` (mean score) and ``observed``
        (label rate).
    calibration_summary : DataFrame or None
        Per market: ``n_reference``, ``n_current``, ``expected_reference``,
        ``observed_reference``, ``ece_reference``, the same three for ``current``,
        ``ece_change`` and ``status`` (``ok``, ``alert`` or ``insufficient``).
    reference_period, current_period : (Timestamp, Timestamp) or None
        First and last time of each window, when a time column was known.
    warn_at, alert_at, epsilon, ece_tolerance : float
    n_bins, min_rows : int

    Examples
    --------
    Watch time doubles in VN only: VN alerts, the whole population (``ALL``) warns.

    >>> import numpy as np, pandas as pd
    >>> from govml.monitor import drift_report
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"market": rng.choice(["ID", "VN"], 2000),
    ...     "watch": rng.gamma(2.0, 30.0, 2000), "device": rng.choice(["app", "web"], 2000)})
    >>> cur = ref.assign(watch=ref["watch"] * np.where(ref["market"] == "VN", 2, 1))  # VN x2
    >>> report = drift_report(ref, cur, features=["watch", "device"])
    >>> report.frame[["feature", "kind", "market", "psi", "status"]].round(3)
      feature         kind market    psi   status
    0   watch      numeric    ALL  0.225  warning
    1   watch      numeric     ID  0.000       ok
    2   watch      numeric     VN  0.751    alert
    3  device  categorical    ALL  0.000       ok
    4  device  categorical     ID  0.000       ok
    5  device  categorical     VN  0.000       ok

    With a score and labels, calibration is compared too (here the observed rate at
    each score rises by 80%: the model now under-predicts):

    >>> score = rng.beta(2, 8, 2000)
    >>> ref = pd.DataFrame({"market": "ID", "score": score, "label": rng.random(2000) < score})
    >>> cur = ref.assign(label=rng.random(2000) < 1.8 * score)
    >>> report = drift_report(ref, cur, score_col="score", label_col="label", by=None)
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    drift: 1 (feature, market) pairs: 0 alert (PSI >= 0.25), 0 warning (PSI >= 0.1),
    1 ok, 0 with fewer than 100 rows
      calibration [ALL] ECE 0.013 -> 0.170 (alert)
    """

    frame: pd.DataFrame
    calibration: pd.DataFrame | None
    calibration_summary: pd.DataFrame | None
    reference_period: tuple[pd.Timestamp, pd.Timestamp] | None
    current_period: tuple[pd.Timestamp, pd.Timestamp] | None
    warn_at: float
    alert_at: float
    epsilon: float
    n_bins: int
    min_rows: int
    ece_tolerance: float

    def alerts(self, level: str = "warning") -> pd.DataFrame:
        """Rows at ``level`` or worse (``"warning"``: warnings and alerts), worst PSI first.

        Raises
        ------
        MonitorError
            ``level`` is not ``"warning"`` or ``"alert"``.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.monitor import drift_report
        >>> rng = np.random.default_rng(0)
        >>> ref = pd.DataFrame({"market": rng.choice(["ID", "VN"], 2000),
        ...     "watch": rng.gamma(2.0, 30.0, 2000), "device": rng.choice(["app", "web"], 2000)})
        >>> cur = ref.assign(watch=ref["watch"] * np.where(ref["market"] == "VN", 2, 1))  # VN x2
        >>> report = drift_report(ref, cur, features=["watch", "device"])
        >>> report.alerts()[["feature", "market", "psi", "status"]].round(3)
          feature market    psi   status
        0   watch     VN  0.751    alert
        1   watch    ALL  0.225  warning
        >>> report.alerts("alert")[["feature", "market"]].to_numpy().tolist()
        [['watch', 'VN']]
        """
        if level not in ("warning", "alert"):
            raise MonitorError(f"level={level!r} must be 'warning' or 'alert'")
        keep = ("warning", "alert") if level == "warning" else ("alert",)
        out = self.frame[self.frame["status"].isin(keep)]
        return out.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)

    def matrix(self) -> pd.DataFrame:
        """PSI as a feature x market table (rows in feature order, ``ALL`` first): the
        drift heatmap.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.monitor import drift_report
        >>> rng = np.random.default_rng(0)
        >>> ref = pd.DataFrame({"market": rng.choice(["ID", "VN"], 2000),
        ...     "watch": rng.gamma(2.0, 30.0, 2000), "device": rng.choice(["app", "web"], 2000)})
        >>> cur = ref.assign(watch=ref["watch"] * np.where(ref["market"] == "VN", 2, 1))  # VN x2
        >>> report = drift_report(ref, cur, features=["watch", "device"])
        >>> report.matrix().round(2)  # doctest: +NORMALIZE_WHITESPACE
        market    ALL   ID    VN
        feature
        watch    0.23  0.0  0.75
        device   0.00  0.0  0.00
        """
        table = self.frame.pivot(index="feature", columns="market", values="psi")
        features = list(dict.fromkeys(self.frame["feature"]))
        markets = list(dict.fromkeys(self.frame["market"]))
        return table.reindex(index=features, columns=markets)

    def worst(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` rows with the highest PSI among those with enough rows.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.monitor import drift_report
        >>> rng = np.random.default_rng(0)
        >>> ref = pd.DataFrame({"market": rng.choice(["ID", "VN"], 2000),
        ...     "watch": rng.gamma(2.0, 30.0, 2000), "device": rng.choice(["app", "web"], 2000)})
        >>> cur = ref.assign(watch=ref["watch"] * np.where(ref["market"] == "VN", 2, 1))  # VN x2
        >>> report = drift_report(ref, cur, features=["watch", "device"])
        >>> report.worst(2)[["feature", "market", "psi"]].round(3)
          feature market    psi
        0   watch     VN  0.751
        1   watch    ALL  0.225
        """
        enough = self.frame[self.frame["status"] != "insufficient"]
        return enough.nlargest(n, "psi").reset_index(drop=True)

    def status_counts(self) -> dict[str, int]:
        """Number of (feature, market) rows per status.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.monitor import drift_report
        >>> rng = np.random.default_rng(0)
        >>> ref = pd.DataFrame({"market": rng.choice(["ID", "VN"], 2000),
        ...     "watch": rng.gamma(2.0, 30.0, 2000), "device": rng.choice(["app", "web"], 2000)})
        >>> cur = ref.assign(watch=ref["watch"] * np.where(ref["market"] == "VN", 2, 1))  # VN x2
        >>> report = drift_report(ref, cur, features=["watch", "device"])
        >>> report.status_counts()
        {'ok': 4, 'warning': 1, 'alert': 1, 'insufficient': 0}
        """
        counts = self.frame["status"].value_counts()
        return {s: int(counts.get(s, 0)) for s in DRIFT_STATUSES}

    def __str__(self) -> str:
        counts = self.status_counts()
        lines = [
            f"drift: {len(self.frame)} (feature, market) pairs: {counts['alert']} alert "
            f"(PSI >= {self.alert_at:g}), {counts['warning']} warning (PSI >= "
            f"{self.warn_at:g}), {counts['ok']} ok, {counts['insufficient']} with fewer than "
            f"{self.min_rows} rows"
        ]
        top = self.alerts().head(10)
        for row in top.itertuples(index=False):
            lines.append(f"  {row.status:<8} {row.feature} [{row.market}] PSI {row.psi:.3f}")
        if self.calibration_summary is not None:
            for row in self.calibration_summary.itertuples(index=False):
                lines.append(
                    f"  calibration [{row.market}] ECE {row.ece_reference:.3f} -> "
                    f"{row.ece_current:.3f} ({row.status})"
                )
        return "\n".join(lines)


def _period(frame: pd.DataFrame, time_col: str | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    if time_col is None or time_col not in frame.columns or frame.empty:
        return None
    t = frame[time_col]
    return t.min(), t.max()


def _groups(frame: pd.DataFrame, by: str | None) -> dict[str, np.ndarray]:
    """Row positions of the whole frame (``ALL``) and of each ``by`` level."""
    out = {ALL: np.arange(len(frame))}
    if by is None:
        return out
    values = frame[by].astype(object).to_numpy()
    codes, levels = pd.factorize(values, use_na_sentinel=True)
    order = np.argsort([str(v) for v in levels], kind="stable")
    for i in order:
        out[str(levels[i])] = np.flatnonzero(codes == i)
    return out


def _scores(model: GovmlModel, frame: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(frame, unseen="allow")


def drift_report(
    reference: Any,
    current: Any,
    *,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    model: GovmlModel | None = None,
    score_col: str | None = None,
    label_col: str | None = None,
    by: str | None = "market",
    time_col: str | None = None,
    n_bins: int = 10,
    warn_at: float = WARN_AT,
    alert_at: float = ALERT_AT,
    epsilon: float = EPSILON,
    min_rows: int = 100,
    ece_tolerance: float = 0.05,
) -> DriftReport:
    """PSI drift of features and score per market, and calibration drift, between windows.

    Parameters
    ----------
    reference, current : DataFrame or FeatureSet
        The two windows (e.g. the training period and the latest month), one row per
        scored entity. Not modified.
    features : sequence of str, optional
        Columns to compare. Default: the model's features, else the FeatureSet's.
    categorical : sequence of str, optional
        Which of them are binned by level. Default: the model's or FeatureSet's
        categorical features, else by dtype.
    model : GovmlModel, optional
        Scores both windows (calibrated probability) and adds the score to the report
        (``kind="score"``) under ``score_col`` (default ``"score"``).
    score_col : str, optional
        Without ``model``: a column of both frames that holds the score already.
    label_col : str, optional
        Label column (1/0; NaN while not yet mature) for calibration drift; needs a
        score.
    by : str or None, default "market"
        Segment column (``None``: only the ``ALL`` rows).
    time_col : str, optional
        Time column the windows' periods are read from (default: the FeatureSet's).
    n_bins : int, default 10
        Quantile bins per numeric feature and score bins for calibration.
    warn_at, alert_at : float, default 0.1, 0.25
        PSI thresholds of ``warning`` and ``alert``.
    epsilon : float, default 1e-4
        Floor of a bin's share.
    min_rows : int, default 100
        Fewer rows than this in either window (or labelled rows, for calibration) gives
        status ``insufficient``.
    ece_tolerance : float, default 0.05
        Calibration ``alert`` when the current ECE exceeds the reference's by more.

    Returns
    -------
    DriftReport

    Raises
    ------
    MonitorError
        No features to compare, missing columns, labels without a score, labels other
        than 0/1, or invalid thresholds.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.monitor import drift_report
    >>> rng = np.random.default_rng(0)
    >>> def window(shift, n=2000):
    ...     return pd.DataFrame({
    ...         "market": rng.choice(["ID", "VN"], n),
    ...         "watch": rng.gamma(2.0, 30.0, n),
    ...         "score": rng.beta(2, 8, n) + shift})
    >>> rep = drift_report(window(0.0), window(0.05), features=["watch"], score_col="score")
    >>> rep.matrix().round(2)  # doctest: +NORMALIZE_WHITESPACE
    market    ALL    ID    VN
    feature
    watch    0.00  0.01  0.01
    score    0.28  0.37  0.25
    >>> rep.alerts()["feature"].unique().tolist()
    ['score']
    """
    ref, ref_features, ref_cat, ref_time = _frame_of(reference, "reference")
    cur, _, _, _ = _frame_of(current, "current")
    n_bins = _check_positive_int(n_bins, "n_bins")
    min_rows = _check_positive_int(min_rows, "min_rows")
    epsilon = _check_positive_float(epsilon, "epsilon")
    warn_at = _check_positive_float(warn_at, "warn_at")
    alert_at = _check_positive_float(alert_at, "alert_at")
    ece_tolerance = _check_positive_float(ece_tolerance, "ece_tolerance")
    if warn_at > alert_at:
        raise MonitorError(
            f"warn_at={warn_at} is above alert_at={alert_at}; a warning must come first "
            "(the defaults are 0.1 and 0.25)"
        )
    if features is None:
        if model is not None:
            features = model.feature_names
        elif ref_features:
            features = ref_features
        elif score_col is None:
            raise MonitorError(
                "no features to compare: pass features=[...], a model, or FeatureSets "
                "(e.g. from govml.session_features)"
            )
        else:
            features = ()
    features = list(features)
    if categorical is None:
        if model is not None:
            cat_set = set(model.metadata.categorical_features)
        elif ref_cat:
            cat_set = set(ref_cat)
        else:
            cat_set = {f for f in features if f in ref.columns and _is_categorical(ref[f])}
    else:
        cat_set = set(categorical)
        unknown = sorted(cat_set - set(features))
        if unknown:
            raise MonitorError(
                f"categorical={unknown} are not among the compared features; list them in "
                "features= too"
            )
    needed = features + ([by] if by is not None else [])
    _require_columns(ref, needed, "reference")
    _require_columns(cur, needed, "current")

    score_name = None
    ref_score = cur_score = None
    if model is not None:
        score_name = score_col or "score"
        ref_score, cur_score = _scores(model, ref), _scores(model, cur)
    elif score_col is not None:
        _require_columns(ref, [score_col], "reference")
        _require_columns(cur, [score_col], "current")
        score_name = score_col
        ref_score = _as_float(ref[score_col], f"reference column {score_col!r}")
        cur_score = _as_float(cur[score_col], f"current column {score_col!r}")
    if score_name is not None and score_name in features:
        features.remove(score_name)

    ref_groups, cur_groups = _groups(ref, by), _groups(cur, by)
    markets = list(ref_groups) + [m for m in cur_groups if m not in ref_groups]
    empty = np.empty(0, dtype=np.int64)
    rows: list[dict[str, Any]] = []

    def compare(name: str, kind: str, r_values: Any, c_values: Any) -> None:
        for market in markets:
            ri, ci = ref_groups.get(market, empty), cur_groups.get(market, empty)
            if kind == "categorical":
                r, c, n = _categorical_codes(r_values.iloc[ri], c_values.iloc[ci])
            else:
                r, c, n = _numeric_codes(r_values[ri], c_values[ci], n_bins)
            value = _psi_from_codes(r, c, n, epsilon)
            rows.append(
                {
                    "feature": name,
                    "kind": kind,
                    "market": market,
                    "n_reference": len(ri),
                    "n_current": len(ci),
                    "psi": value,
                    "status": _status(value, len(ri), len(ci), warn_at, alert_at, min_rows),
                }
            )

    for name in features:
        if name in cat_set:
            compare(name, "categorical", ref[name], cur[name])
        else:
            compare(
                name,
                "numeric",
                _as_float(ref[name], f"reference column {name!r}"),
                _as_float(cur[name], f"current column {name!r}"),
            )
    if score_name is not None:
        compare(score_name, "score", ref_score, cur_score)
    frame = pd.DataFrame(
        rows,
        columns=["feature", "kind", "market", "n_reference", "n_current", "psi", "status"],
    )

    calibration = summary = None
    if label_col is not None:
        if ref_score is None:
            raise MonitorError(
                f"label_col={label_col!r} needs a score to check calibration against: pass "
                "model= or score_col="
            )
        _require_columns(ref, [label_col], "reference")
        _require_columns(cur, [label_col], "current")
        calibration, summary = _calibration(
            ref_score,
            _labels(ref[label_col], "reference"),
            ref_groups,
            cur_score,
            _labels(cur[label_col], "current"),
            cur_groups,
            markets,
            n_bins=n_bins,
            min_rows=min_rows,
            tolerance=ece_tolerance,
        )
    time_col = time_col or ref_time
    return DriftReport(
        frame=frame,
        calibration=calibration,
        calibration_summary=summary,
        reference_period=_period(ref, time_col),
        current_period=_period(cur, time_col),
        warn_at=warn_at,
        alert_at=alert_at,
        epsilon=epsilon,
        n_bins=n_bins,
        min_rows=min_rows,
        ece_tolerance=ece_tolerance,
    )


def _labels(series: pd.Series, where: str) -> np.ndarray:
    values = pd.to_numeric(series.astype(object).where(series.notna(), np.nan), errors="coerce")
    y = values.to_numpy(np.float64, na_value=np.nan)
    bad = series.notna().to_numpy() & ~np.isin(y, (0.0, 1.0))
    if bad.any():
        examples = series[bad].iloc[:3].tolist()
        raise MonitorError(
            f"{where} labels must be 1/0 (or True/False), NaN while not yet known; found "
            f"{int(bad.sum())} other value(s), e.g. {examples}"
        )
    return y


def _calibration(
    ref_score: np.ndarray,
    ref_y: np.ndarray,
    ref_groups: dict[str, np.ndarray],
    cur_score: np.ndarray,
    cur_y: np.ndarray,
    cur_groups: dict[str, np.ndarray],
    markets: list[str],
    *,
    n_bins: int,
    min_rows: int,
    tolerance: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    empty = np.empty(0, dtype=np.int64)
    bins: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    for market in markets:
        ri, ci = ref_groups.get(market, empty), cur_groups.get(market, empty)
        ri = ri[~np.isnan(ref_y[ri]) & np.isfinite(ref_score[ri])]
        ci = ci[~np.isnan(cur_y[ci]) & np.isfinite(cur_score[ci])]
        rs, cs = ref_score[ri], cur_score[ci]
        edges = (
            np.unique(np.quantile(rs, np.linspace(0, 1, n_bins + 1)[1:-1]))
            if len(rs)
            else np.empty(0)
        )
        bounds = np.concatenate([[-np.inf], edges, [np.inf]])
        row: dict[str, Any] = {"market": market}
        for window, s, y in (("reference", rs, ref_y[ri]), ("current", cs, cur_y[ci])):
            code = np.searchsorted(edges, s, side="right")
            n = np.bincount(code, minlength=len(edges) + 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                expected = np.bincount(code, weights=s, minlength=len(n)) / n
                observed = np.bincount(code, weights=y, minlength=len(n)) / n
            for b in range(len(n)):
                bins.append(
                    {
                        "market": market,
                        "window": window,
                        "bin": b,
                        "lower": bounds[b],
                        "upper": bounds[b + 1],
                        "n": int(n[b]),
                        "expected": expected[b],
                        "observed": observed[b],
                    }
                )
            total = int(n.sum())
            filled = n > 0
            ece = (
                float(np.sum(n[filled] / total * np.abs(expected[filled] - observed[filled])))
                if total
                else math.nan
            )
            row[f"n_{window}"] = total
            row[f"expected_{window}"] = float(s.mean()) if total else math.nan
            row[f"observed_{window}"] = float(y.mean()) if total else math.nan
            row[f"ece_{window}"] = ece
        row["ece_change"] = row["ece_current"] - row["ece_reference"]
        if min(row["n_reference"], row["n_current"]) < min_rows:
            row["status"] = "insufficient"
        else:
            row["status"] = "alert" if row["ece_change"] > tolerance else "ok"
        summary.append(row)
    columns = [
        "market",
        "n_reference",
        "n_current",
        "expected_reference",
        "observed_reference",
        "ece_reference",
        "expected_current",
        "observed_current",
        "ece_current",
        "ece_change",
        "status",
    ]
    return pd.DataFrame(bins), pd.DataFrame(summary, columns=columns)


# ============================================================================ trends


@dataclass(frozen=True)
class TrendReport:
    """Daily segment-level trend detection: every segment-day, its z-scores and alerts.

    Attributes
    ----------
    alerts : DataFrame
        One row per alert, by day then segment: ``day`` (UTC midnight), ``known_at``
        (the end of that day: when the alert can be raised), the segment columns,
        ``n_sessions``, ``strength`` (the largest ``|z|``), ``score_mean`` and
        ``score_z`` (the segment's mean model score that day and its z; NaN without a
        score), ``top_features``, ``top_z`` and ``top_reasons`` (tuples: the
        aggregates that deviate most, their signed z and their catalogue reason
        group).
    daily : DataFrame
        Every segment-day from the first monitored day: ``day``, the segment columns,
        ``n_sessions``, ``strength``, ``status`` (one of :data:`TREND_STATUSES`:
        ``alert``, ``ok``, ``low_volume`` below ``min_sessions`` rows, ``no_baseline``
        with too few earlier days) and ``score_mean``.
    z : DataFrame
        Same rows as ``daily``: one column of signed z per monitored aggregate (NaN
        where not computable). The alert timeline's detail.
    segment : tuple of str
        Segment columns (default ``("market", "category")``).
    aggregates : tuple of str
        Monitored columns (the features, then the score).
    score_col : str or None
        Name of the score among ``aggregates``.
    threshold, clip : float
    baseline_days, min_baseline_days, min_sessions : int
    first_day, last_day : Timestamp
        The days ``daily`` covers.
    baseline : str
        ``"trailing"`` or ``"frozen"`` (see :func:`detect_trends`).
    reference : (Timestamp, Timestamp) or None
        With the frozen baseline: the reference's first day and the day after its last
        (the first day that can be compared with it); None with the trailing baseline.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.monitor import detect_trends
    >>> rng = np.random.default_rng(0)
    >>> n = 100 * 60 * 4  # 60 days, 4 segments, about 100 sessions per segment-day
    >>> frame = pd.DataFrame({"ended_at": pd.Timestamp("2026-01-01", tz="UTC")
    ...     + pd.to_timedelta(rng.uniform(0, 60, n), unit="D"),
    ...     "market": rng.choice(["ID", "VN"], n), "category": rng.choice(["a", "b"], n),
    ...     "watch": rng.gamma(2.0, 30.0, n)})
    >>> new = (frame["ended_at"] >= "2026-02-20") & (frame["market"] == "VN")
    >>> frame.loc[new & (frame["category"] == "a"), "watch"] /= 4  # a new pattern in VN x a
    >>> report = detect_trends(frame, features=["watch"])
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    trends: 7 alert(s) over 184 monitored segment-days (2026-01-01 .. 2026-03-01;
    |z| >= 6, at least 20 sessions)
      2026-02-20 VN x a (110 sessions): watch -10.5
      2026-02-21 VN x a (102 sessions): watch -10.2
      2026-02-22 VN x a (103 sessions): watch -10.9
      2026-02-23 VN x a (99 sessions): watch -10.9
      2026-02-24 VN x a (110 sessions): watch -10.6
      2026-02-25 VN x a (91 sessions): watch -9.7
      2026-02-26 VN x a (102 sessions): watch -6.2
    >>> report.daily["status"].value_counts().to_dict()  # the first 14 days have no baseline
    {'ok': 177, 'no_baseline': 56, 'alert': 7}
    """

    alerts: pd.DataFrame
    daily: pd.DataFrame
    z: pd.DataFrame
    segment: tuple[str, ...]
    aggregates: tuple[str, ...]
    score_col: str | None
    threshold: float
    clip: float
    baseline_days: int
    min_baseline_days: int
    min_sessions: int
    first_day: pd.Timestamp
    last_day: pd.Timestamp
    baseline: str = "trailing"
    reference: tuple[pd.Timestamp, pd.Timestamp] | None = None

    @property
    def n_alerts(self) -> int:
        """Number of alerts.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.monitor import detect_trends
        >>> rng = np.random.default_rng(0)
        >>> n = 100 * 60 * 4  # 60 days, 4 segments, about 100 sessions per segment-day
        >>> frame = pd.DataFrame({"ended_at": pd.Timestamp("2026-01-01", tz="UTC")
        ...     + pd.to_timedelta(rng.uniform(0, 60, n), unit="D"),
        ...     "market": rng.choice(["ID", "VN"], n), "category": rng.choice(["a", "b"], n),
        ...     "watch": rng.gamma(2.0, 30.0, n)})
        >>> new = (frame["ended_at"] >= "2026-02-20") & (frame["market"] == "VN")
        >>> frame.loc[new & (frame["category"] == "a"), "watch"] /= 4  # a new pattern in VN x a
        >>> report = detect_trends(frame, features=["watch"])
        >>> report.n_alerts, report.n_alerts == len(report.alerts)
        (7, True)
        """
        return len(self.alerts)

    def alerts_on(self, day: pd.Timestamp | str) -> pd.DataFrame:
        """The alerts of one UTC day.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.monitor import detect_trends
        >>> rng = np.random.default_rng(0)
        >>> n = 100 * 60 * 4  # 60 days, 4 segments, about 100 sessions per segment-day
        >>> frame = pd.DataFrame({"ended_at": pd.Timestamp("2026-01-01", tz="UTC")
        ...     + pd.to_timedelta(rng.uniform(0, 60, n), unit="D"),
        ...     "market": rng.choice(["ID", "VN"], n), "category": rng.choice(["a", "b"], n),
        ...     "watch": rng.gamma(2.0, 30.0, n)})
        >>> new = (frame["ended_at"] >= "2026-02-20") & (frame["market"] == "VN")
        >>> frame.loc[new & (frame["category"] == "a"), "watch"] /= 4  # a new pattern in VN x a
        >>> report = detect_trends(frame, features=["watch"])
        >>> report.alerts_on("2026-02-21")[["market", "category", "n_sessions", "top_features"]]
          market category  n_sessions top_features
        0     VN        a         102     (watch,)
        >>> report.alerts_on("2026-02-19").empty
        True
        """
        ts = _utc(day, "day").floor("D")
        return self.alerts[self.alerts["day"] == ts].reset_index(drop=True)

    def history(self, **segment: str) -> pd.DataFrame:
        """One segment's daily rows with their z columns, e.g. ``history(market="VN",
        category="fashion")``.

        Raises
        ------
        MonitorError
            A keyword is not a segment column.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from govml.monitor import detect_trends
        >>> rng = np.random.default_rng(0)
        >>> n = 100 * 60 * 4  # 60 days, 4 segments, about 100 sessions per segment-day
        >>> frame = pd.DataFrame({"ended_at": pd.Timestamp("2026-01-01", tz="UTC")
        ...     + pd.to_timedelta(rng.uniform(0, 60, n), unit="D"),
        ...     "market": rng.choice(["ID", "VN"], n), "category": rng.choice(["a", "b"], n),
        ...     "watch": rng.gamma(2.0, 30.0, n)})
        >>> new = (frame["ended_at"] >= "2026-02-20") & (frame["market"] == "VN")
        >>> frame.loc[new & (frame["category"] == "a"), "watch"] /= 4  # a new pattern in VN x a
        >>> report = detect_trends(frame, features=["watch"])
        >>> history = report.history(market="VN", category="a")
        >>> len(history), history.columns.tolist()[-3:]  # a row per day, a z per aggregate
        (60, ['status', 'score_mean', 'watch'])
        >>> history.loc[49:51, ["day", "status", "watch"]].round({"watch": 1})
                                 day status  watch
        49 2026-02-19 00:00:00+00:00     ok    1.4
        50 2026-02-20 00:00:00+00:00  alert  -10.5
        51 2026-02-21 00:00:00+00:00  alert  -10.2
        """
        unknown = sorted(set(segment) - set(self.segment))
        if unknown:
            raise MonitorError(
                f"{unknown} are not segment columns; this report's segments are {list(self.segment)}"
            )
        keep = np.ones(len(self.daily), dtype=bool)
        for col, value in segment.items():
            keep &= (self.daily[col] == value).to_numpy()
        return pd.concat([self.daily[keep], self.z[keep]], axis=1).reset_index(drop=True)

    def __str__(self) -> str:
        monitored = int(self.daily["status"].isin(("ok", "alert")).sum())
        lines = [
            f"trends: {self.n_alerts} alert(s) over {monitored:,} monitored segment-days "
            f"({self.first_day:%Y-%m-%d} .. {self.last_day:%Y-%m-%d}; |z| >= {self.threshold:g}, "
            f"at least {self.min_sessions} sessions"
            + (
                ""
                if self.reference is None
                else f"; baseline frozen on {self.reference[0]:%Y-%m-%d} .. "
                f"{self.reference[1] - pd.Timedelta(days=1):%Y-%m-%d}"
            )
            + ")"
        ]
        for row in self.alerts.itertuples(index=False):
            seg = " x ".join(str(getattr(row, c)) for c in self.segment)
            drivers = ", ".join(
                f"{f} {z:+.1f}" for f, z in zip(row.top_features, row.top_z, strict=True)
            )
            score = "" if not np.isfinite(row.score_z) else f"; score z {row.score_z:+.1f}"
            lines.append(
                f"  {row.day:%Y-%m-%d} {seg} ({row.n_sessions} sessions): {drivers}{score}"
            )
        return "\n".join(lines)


def _utc(value: Any, name: str) -> pd.Timestamp:
    return to_utc(
        value, lambda: MonitorError(f"{name}={value!r} is not a timestamp; write e.g. 2026-03-01")
    )


def _day_index(frame: pd.DataFrame, time_col: str) -> tuple[np.ndarray, pd.Timestamp]:
    col = frame[time_col]
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        raise MonitorError(
            f"column {time_col!r} is {col.dtype}, not a timezone-aware timestamp; govml "
            "times are datetime64[us, UTC] (validate the tables, or pass time_col=)"
        )
    if col.isna().any():
        raise MonitorError(
            f"column {time_col!r} has {int(col.isna().sum())} missing time(s); every row "
            "needs its time to be put on a day"
        )
    us = pd.DatetimeIndex(col).tz_convert("UTC").as_unit("us").asi8
    day0 = int(us.min()) // _DAY_US * _DAY_US
    return (us - day0) // _DAY_US, pd.Timestamp(day0, unit="us", tz="UTC")


def _same_day_scores(x: np.ndarray, day: np.ndarray, n_days: int, clip: float) -> np.ndarray:
    """``clip((x - median_day) / scale_day)`` with the day's median and IQR / 1.349."""
    s = pd.Series(x, copy=False)
    q = s.groupby(day).quantile([0.25, 0.5, 0.75]).unstack().reindex(range(n_days))
    med = q[0.5].to_numpy()[day]
    scale = ((q[0.75] - q[0.25]).to_numpy() / _IQR_TO_SD)[day]
    flat = ~(scale > 0)
    if flat.any():
        mean_abs = pd.Series(np.abs(x - med)).groupby(day).mean().reindex(range(n_days))
        scale = np.where(flat, mean_abs.to_numpy()[day] * _MEAN_ABS_TO_SD, scale)
    u = np.zeros(len(x))
    np.divide(x - med, scale, out=u, where=scale > 0)
    u[np.isnan(x)] = np.nan
    return np.clip(u, -clip, clip)


def _trailing(values: np.ndarray, window: int) -> np.ndarray:
    """View ``(segments, days, window)``: for day d, the values of days d-window .. d-1."""
    from numpy.lib.stride_tricks import sliding_window_view

    pad = np.full((values.shape[0], window), np.nan)
    padded = np.concatenate([pad, values], axis=1)
    return sliding_window_view(padded, window, axis=1)[:, : values.shape[1]]


def _trailing_sum(values: np.ndarray, window: int) -> np.ndarray:
    """For day d, the sum of days d-window .. d-1 (zeros outside the data)."""
    cs = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], axis=1)
    days = np.arange(values.shape[1])
    return cs[:, days] - cs[:, np.maximum(days - window, 0)]


def _robust_z(
    mean: np.ndarray,
    var: np.ndarray,
    cnt: np.ndarray,
    *,
    baseline_days: int,
    min_baseline_days: int,
    min_sessions: int,
    common_mode: bool,
    reference: tuple[int, int] | None = None,
) -> np.ndarray:
    """z of each segment-day aggregate against the same segment's baseline.

    ``reference=None``: the trailing ``baseline_days`` before each day. ``reference=(r0,
    r1)``: the frozen baseline of days ``r0 .. r1 - 1`` for every day from ``r1`` on
    (earlier days get no z: their baseline is not known yet).
    """
    ok = cnt >= min_sessions
    a = np.where(ok, mean, np.nan)
    if reference is None:
        window = _trailing(a, baseline_days)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN baselines give NaN
            med = np.nanmedian(window, axis=-1)
            mad = np.nanmedian(np.abs(window - med[..., None]), axis=-1)
            n_typical = np.nanmedian(_trailing(np.where(ok, cnt, np.nan), baseline_days), axis=-1)
        n_valid = _trailing_sum(ok.astype(np.float64), baseline_days)
        pooled = _trailing_sum(np.where(ok, var * cnt, 0.0), baseline_days)
        pooled_n = _trailing_sum(np.where(ok, cnt, 0.0), baseline_days)
    else:
        r0, r1 = reference
        ref_ok = ok[:, r0:r1]
        window = a[:, r0:r1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN baselines give NaN
            med = np.nanmedian(window, axis=1, keepdims=True)
            mad = np.nanmedian(np.abs(window - med), axis=1, keepdims=True)
            n_typical = np.nanmedian(np.where(ref_ok, cnt[:, r0:r1], np.nan), axis=1, keepdims=True)
        n_valid = np.where(
            np.arange(a.shape[1]) >= r1, ref_ok.sum(axis=1, keepdims=True).astype(np.float64), 0.0
        )
        pooled = np.where(ref_ok, (var * cnt)[:, r0:r1], 0.0).sum(axis=1, keepdims=True)
        pooled_n = np.where(ref_ok, cnt[:, r0:r1], 0.0).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = _MAD_TO_SD * mad * np.sqrt(n_typical / cnt)
        noise = np.sqrt(pooled / pooled_n / cnt)
        scale = np.fmax(spread, noise)
        deviation = a - med
    usable = ok & (n_valid >= min_baseline_days) & np.isfinite(scale) & np.isfinite(deviation)
    deviation[~usable] = np.nan
    if common_mode:
        # what moves most segments on the same day is the platform, not a segment
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            common = np.nanmedian(deviation, axis=0)
        common[(usable.sum(axis=0) < _MIN_COMMON_SEGMENTS) | np.isnan(common)] = 0.0
        deviation -= common
    with np.errstate(invalid="ignore", divide="ignore"):
        return deviation / np.maximum(scale, 1e-12)


def _reference_window(reference: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(start, end)`` of a ``reference=`` pair, UTC, checked."""
    if isinstance(reference, str) or not isinstance(reference, Sequence) or len(reference) != 2:
        raise MonitorError(
            f"reference={reference!r} must be a (start, end) pair, e.g. "
            "('2025-08-15', '2025-10-01') (end excluded, UTC)"
        )
    start, end = _utc(reference[0], "reference start"), _utc(reference[1], "reference end")
    if not start < end:
        raise MonitorError(
            f"reference={reference!r} does not end after it starts; pass (start, end) with "
            "start < end"
        )
    return start, end


def _reference_days(
    window: tuple[pd.Timestamp, pd.Timestamp] | None, day0: pd.Timestamp, n_days: int, length: int
) -> tuple[int, int]:
    """Day indices ``[r0, r1)`` of the frozen reference: the UTC days from the start's day
    that begin before the end (default: the first ``length`` days of the data)."""
    if window is None:
        return 0, min(length, n_days)
    one_day = pd.Timedelta(days=1)
    r0 = (window[0].floor("D") - day0) // one_day
    r1 = -((day0 - window[1]) // one_day)  # ceil: a day that starts before the end is in
    return int(min(max(r0, 0), n_days)), int(min(max(r1, 0), n_days))


def _reasons(names: Sequence[str], score_name: str | None) -> dict[str, str]:
    from govml.features.catalogue import catalogue

    cat = catalogue()
    known = dict(zip(cat["name"], cat["reason"], strict=True))
    out = {n: str(known.get(n, "")) for n in names}
    if score_name is not None:
        out[score_name] = "model score"
    return out


def detect_trends(
    sessions: Any,
    *,
    features: Sequence[str] | None = None,
    model: GovmlModel | None = None,
    score_col: str | None = None,
    time_col: str | None = None,
    segment: Sequence[str] = ("market", "category"),
    since: pd.Timestamp | str | None = None,
    baseline_days: int = 28,
    baseline: Literal["trailing", "frozen"] = "trailing",
    reference: tuple[pd.Timestamp | str, pd.Timestamp | str] | None = None,
    min_baseline_days: int = 14,
    min_sessions: int = 20,
    threshold: float = 6.0,
    clip: float = 10.0,
    common_mode: bool = True,
    top: int = 3,
) -> TrendReport:
    """Find segments (market x category) whose daily behaviour breaks from their past.

    The method (module docstring): same-day robust standardisation of every value,
    daily segment means, robust z against the segment's trailing baseline, an alert
    when a segment-day with enough sessions has an aggregate with ``|z| >= threshold``.

    Parameters
    ----------
    sessions : DataFrame or FeatureSet
        One row per session (or any scored row) with the time column, the segment
        columns and the features, e.g. ``govml.session_features(tables)``. Not modified.
    features : sequence of str, optional
        Numeric columns to monitor. Default: the session's own metrics
        (``govml.features.session.OWN_METRICS``) found in the frame: where a new
        behaviour shows first, before any history feature reflects it.
    model : GovmlModel, optional
        Adds the model's probability as a monitored aggregate (``score_col``, default
        ``"score"``).
    score_col : str, optional
        Without ``model``: a column holding a score to monitor as well.
    time_col : str, optional
        Row time (default: the FeatureSet's, else ``"ended_at"``); timezone-aware.
    segment : sequence of str, default ("market", "category")
        Columns whose combinations are the monitored segments.
    since : timestamp, optional
        Report only days from this one on (earlier rows still serve as baselines).
    baseline_days : int, default 28
        Trailing days a day is compared with (``baseline="frozen"``: the length of the
        default reference).
    baseline : {"trailing", "frozen"}, default "trailing"
        ``"trailing"``: each day against the segment's previous ``baseline_days`` days
        (a persistent pattern is absorbed after about two weeks). ``"frozen"``: every day
        after the ``reference`` window against the segment's days in that window (a
        persistent pattern stays flagged while it lasts). Module docstring, "Trailing or
        frozen baseline", for the choice and measured numbers.
    reference : (start, end) pair of timestamps, optional
        ``baseline="frozen"`` only: the reference window, UTC days from ``start``'s day
        to ``end`` excluded, e.g. ``("2025-08-15", "2026-02-07")`` (the training
        period). Default: the first ``baseline_days`` days of the data. Days before its
        end are ``no_baseline``.
    min_baseline_days : int, default 14
        Fewest baseline days (with enough sessions) needed to compute a z.
    min_sessions : int, default 20
        Minimum-volume guard: a segment-day with fewer rows never alerts and is not a
        baseline day.
    threshold : float, default 6
        ``|z|`` that raises an alert.
    clip : float, default 10
        Bound of the same-day standardised values.
    top : int, default 3
        Aggregates named per alert.

    Returns
    -------
    TrendReport

    Raises
    ------
    MonitorError
        Missing or non-numeric columns, a naive or missing time, no rows, no features,
        invalid parameters, or a frozen ``reference`` that gives no segment a baseline.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from govml.monitor import detect_trends
    >>> rng = np.random.default_rng(0)
    >>> n = 100 * 60 * 4
    >>> frame = pd.DataFrame({
    ...     "ended_at": pd.Timestamp("2026-01-01", tz="UTC")
    ...     + pd.to_timedelta(rng.uniform(0, 60, n), unit="D"),
    ...     "market": rng.choice(["ID", "VN"], n), "category": rng.choice(["a", "b"], n),
    ...     "watch": rng.gamma(2.0, 30.0, n)})
    >>> late = (frame["ended_at"] >= "2026-02-20") & (frame["market"] == "VN")
    >>> frame.loc[late & (frame["category"] == "a"), "watch"] /= 4  # a new pattern
    >>> rep = detect_trends(frame, features=["watch"])
    >>> first = rep.alerts.iloc[0]
    >>> first["day"].date(), first["market"], first["category"], first["top_features"]
    (datetime.date(2026, 2, 20), 'VN', 'a', ('watch',))

    A trailing baseline absorbs a pattern that persists; a frozen one keeps flagging it:

    >>> n = 100 * 100 * 4  # 100 days; the pattern starts on day 50 and lasts
    >>> frame = pd.DataFrame({
    ...     "ended_at": pd.Timestamp("2026-01-01", tz="UTC")
    ...     + pd.to_timedelta(rng.uniform(0, 100, n), unit="D"),
    ...     "market": rng.choice(["ID", "VN"], n), "category": rng.choice(["a", "b"], n),
    ...     "watch": rng.gamma(2.0, 30.0, n)})
    >>> late = (frame["ended_at"] >= "2026-02-20") & (frame["market"] == "VN")
    >>> frame.loc[late & (frame["category"] == "a"), "watch"] /= 4
    >>> for mode, ref in (("trailing", None), ("frozen", ("2026-01-01", "2026-02-01"))):
    ...     rep = detect_trends(frame, features=["watch"], baseline=mode, reference=ref)
    ...     days = rep.alerts["day"]
    ...     print(mode, rep.n_alerts, f"{days.min():%m-%d} .. {days.max():%m-%d}")
    trailing 10 02-20 .. 03-01
    frozen 50 02-20 .. 04-10
    >>> rep.reference[1].date(), rep.last_day.date()  # compared with January up to the end
    (datetime.date(2026, 2, 1), datetime.date(2026, 4, 10))
    """
    frame, fs_features, _, fs_time = _frame_of(sessions, "sessions")
    baseline_days = _check_positive_int(baseline_days, "baseline_days")
    min_baseline_days = _check_positive_int(min_baseline_days, "min_baseline_days")
    min_sessions = _check_positive_int(min_sessions, "min_sessions")
    top = _check_positive_int(top, "top")
    threshold = _check_positive_float(threshold, "threshold")
    clip = _check_positive_float(clip, "clip")
    if min_baseline_days > baseline_days:
        raise MonitorError(
            f"min_baseline_days={min_baseline_days} exceeds baseline_days={baseline_days}; "
            "a baseline cannot need more days than it spans"
        )
    if baseline not in _BASELINES:
        raise MonitorError(
            f"baseline={baseline!r} is not one of {list(_BASELINES)}; 'trailing' compares each "
            "day with the previous baseline_days, 'frozen' with a fixed reference window"
        )
    if reference is not None and baseline != "frozen":
        raise MonitorError(
            f"reference={reference!r} only applies to baseline='frozen'; pass "
            "baseline='frozen' too, or leave reference out for the trailing baseline"
        )
    ref_window = None if reference is None else _reference_window(reference)
    segment = tuple(segment)
    if not segment:
        raise MonitorError("segment=() names no column; pass e.g. ('market', 'category')")
    time_col = time_col or fs_time or "ended_at"
    if features is None:
        from govml.features.session import OWN_METRICS

        features = [c for c in OWN_METRICS if c in frame.columns]
        if not features:
            raise MonitorError(
                "no features to monitor: the frame has none of the session metrics "
                f"{list(OWN_METRICS[:4])}...; pass features=[...] (numeric columns)"
            )
    features = list(features)
    _require_columns(frame, [time_col, *segment, *features], "sessions")
    if frame.empty:
        raise MonitorError("sessions has no rows; trends need at least a few weeks of sessions")
    bad = [
        f
        for f in features
        if not pd.api.types.is_numeric_dtype(frame[f].dtype)
        or pd.api.types.is_bool_dtype(frame[f].dtype)
    ]
    if bad:
        raise MonitorError(
            f"features {bad} are not numeric; trend detection averages numbers (monitor a "
            "categorical column through the segment or the drift report)"
        )

    score_name: str | None = None
    columns: dict[str, np.ndarray] = {}
    for f in features:
        columns[f] = frame[f].to_numpy(np.float64, na_value=np.nan)
    if model is not None:
        score_name = score_col or "score"
        columns.pop(score_name, None)
        columns[score_name] = np.asarray(_scores(model, frame), dtype=np.float64)
    elif score_col is not None:
        _require_columns(frame, [score_col], "sessions")
        score_name = score_col
        columns[score_name] = columns.pop(score_col, None)
        if columns[score_name] is None:
            columns[score_name] = _as_float(frame[score_col], f"column {score_col!r}")
    names = tuple(columns)

    day, day0 = _day_index(frame, time_col)
    n_days = int(day.max()) + 1
    seg_values = frame[list(segment)].astype("string").fillna("<missing>")
    seg_codes, seg_levels = pd.MultiIndex.from_frame(seg_values).factorize()
    order = np.argsort(seg_levels.argsort())  # rank of each level in sorted order
    seg_codes = order[seg_codes]
    seg_levels = seg_levels.sort_values()
    n_seg = len(seg_levels)
    cell = seg_codes.astype(np.int64) * n_days + day
    n_cells = n_seg * n_days
    n_sessions = np.bincount(cell, minlength=n_cells).reshape(n_seg, n_days)
    ref_days: tuple[int, int] | None = None
    if baseline == "frozen":
        ref_days = _reference_days(ref_window, day0, n_days, baseline_days)
        counted = (n_sessions[:, ref_days[0] : ref_days[1]] >= min_sessions).sum(axis=1)
        if counted.max(initial=0) < min_baseline_days:
            start, end = (day0 + pd.Timedelta(days=d) for d in ref_days)
            raise MonitorError(
                f"the frozen reference {start:%Y-%m-%d} .. {end:%Y-%m-%d} (end excluded) gives "
                f"no segment a baseline: each needs min_baseline_days={min_baseline_days} days "
                f"with at least min_sessions={min_sessions} sessions (the best segment has "
                f"{int(counted.max(initial=0))}); the sessions run from {day0:%Y-%m-%d} to "
                f"{day0 + pd.Timedelta(days=n_days - 1):%Y-%m-%d}: widen or move reference="
            )

    z = np.full((len(names), n_seg, n_days), np.nan)
    score_mean = None
    for j, name in enumerate(names):
        x = columns[name]
        x = np.where(np.isfinite(x), x, np.nan)
        valid = ~np.isnan(x)
        if name == score_name:
            with np.errstate(invalid="ignore", divide="ignore"):
                score_mean = (
                    np.bincount(cell[valid], weights=x[valid], minlength=n_cells)
                    / np.bincount(cell[valid], minlength=n_cells)
                ).reshape(n_seg, n_days)
        u = _same_day_scores(x, day, n_days, clip)
        c, uv = cell[valid], u[valid]
        cnt = np.bincount(c, minlength=n_cells).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(c, weights=uv, minlength=n_cells) / cnt
            var = np.maximum(np.bincount(c, weights=uv * uv, minlength=n_cells) / cnt - mean**2, 0)
        z[j] = _robust_z(
            mean.reshape(n_seg, n_days),
            var.reshape(n_seg, n_days),
            cnt.reshape(n_seg, n_days),
            baseline_days=baseline_days,
            min_baseline_days=min_baseline_days,
            min_sessions=min_sessions,
            common_mode=common_mode,
            reference=ref_days,
        )

    absz = np.abs(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        strength = np.nanmax(absz, axis=0)
    status = np.where(
        n_sessions < min_sessions,
        "low_volume",
        np.where(np.isnan(strength), "no_baseline", np.where(strength >= threshold, "alert", "ok")),
    )

    # the grid, day-major: rows (day, segment)
    first = 0 if since is None else max(0, int((_utc(since, "since").floor("D") - day0).days))
    days = np.arange(first, n_days)
    seg_idx = np.tile(np.arange(n_seg), len(days))
    day_idx = np.repeat(days, n_seg)
    day_ts = pd.DatetimeIndex(
        (day0.value // 1000 + day_idx * _DAY_US).astype("datetime64[us]")
    ).tz_localize("UTC")
    seg_frame = (
        seg_levels.to_frame(index=False, name=list(segment)).iloc[seg_idx].reset_index(drop=True)
    )
    seg_frame = seg_frame.astype(object)
    daily = pd.DataFrame({"day": day_ts})
    for col in segment:
        daily[col] = seg_frame[col].to_numpy()
    daily["n_sessions"] = n_sessions[seg_idx, day_idx]
    daily["strength"] = strength[seg_idx, day_idx]
    daily["status"] = status[seg_idx, day_idx]
    daily["score_mean"] = (
        score_mean[seg_idx, day_idx] if score_mean is not None else np.full(len(daily), np.nan)
    )
    zf = pd.DataFrame(
        {name: z[j][seg_idx, day_idx] for j, name in enumerate(names)}, index=daily.index
    )

    hit = np.flatnonzero(daily["status"].to_numpy() == "alert")
    reasons = _reasons(names, score_name)
    zvals = zf.to_numpy()[hit]
    top_features, top_z, top_reasons = [], [], []
    for row in zvals:
        ranked = [k for k in np.argsort(-np.abs(row), kind="stable") if np.isfinite(row[k])][:top]
        top_features.append(tuple(names[k] for k in ranked))
        top_z.append(tuple(float(row[k]) for k in ranked))
        top_reasons.append(tuple(reasons[names[k]] for k in ranked))
    alerts = daily.iloc[hit][["day", *segment, "n_sessions", "strength", "score_mean"]]
    alerts = alerts.reset_index(drop=True)
    alerts.insert(1, "known_at", alerts["day"] + pd.Timedelta(days=1))
    alerts["score_z"] = (
        zf[score_name].to_numpy()[hit] if score_name is not None else np.full(len(hit), np.nan)
    )
    alerts["top_features"] = pd.Series(top_features, dtype=object)
    alerts["top_z"] = pd.Series(top_z, dtype=object)
    alerts["top_reasons"] = pd.Series(top_reasons, dtype=object)

    return TrendReport(
        alerts=alerts,
        daily=daily,
        z=zf,
        segment=segment,
        aggregates=names,
        score_col=score_name,
        threshold=threshold,
        clip=clip,
        baseline_days=baseline_days,
        min_baseline_days=min_baseline_days,
        min_sessions=min_sessions,
        first_day=day0 + pd.Timedelta(days=first),
        last_day=day0 + pd.Timedelta(days=n_days - 1),
        baseline=baseline,
        reference=None
        if ref_days is None
        else (day0 + pd.Timedelta(days=ref_days[0]), day0 + pd.Timedelta(days=ref_days[1])),
    )


# ============================================================================ evaluation


@dataclass(frozen=True)
class TrendDetectionScore:
    """How trend alerts fared against a known injected pattern.

    Attributes
    ----------
    onset : Timestamp
        UTC day the pattern started.
    pattern_segments : tuple of tuple of str
        Segments the pattern touches (the affected creators' market x category, or
        every monitored segment of its market).
    detected : bool
        Some alert fell in a pattern segment on or after the onset.
    first_alert : Timestamp or None
        Day of the first such alert.
    lag_days : int or None
        ``first_alert - onset`` in days (0: alerted on the onset day).
    n_true_alerts : int
        Alerts in pattern segments on or after the onset.
    n_false_before_onset : int
        Alerts in any segment before the onset.
    n_false_other_segments : int
        Alerts in other segments on or after the onset.
    monitored_weeks : float
        Days with at least one monitored segment (status ``ok`` or ``alert``) / 7.
    false_alerts_per_week : float
        All false alerts per monitored week.

    Examples
    --------
    Usually from :func:`evaluate_trend_detection`; the fields by hand:

    >>> import pandas as pd
    >>> from govml.monitor import TrendDetectionScore
    >>> score = TrendDetectionScore(onset=pd.Timestamp("2026-02-20", tz="UTC"),
    ...     pattern_segments=(("VN", "fashion"),), detected=True,
    ...     first_alert=pd.Timestamp("2026-02-21", tz="UTC"), lag_days=1, n_true_alerts=5,
    ...     n_false_before_onset=1, n_false_other_segments=2, monitored_weeks=6.0,
    ...     false_alerts_per_week=0.5)
    >>> print(score)  # doctest: +NORMALIZE_WHITESPACE
    pattern from 2026-02-20 in 1 segment(s): detected 1 day(s) after onset (2026-02-21);
    5 true alert(s); false alerts: 1 before onset, 2 in other segments after it
    (0.50 per week over 6.0 monitored weeks)
    """

    onset: pd.Timestamp
    pattern_segments: tuple[tuple[str, ...], ...]
    detected: bool
    first_alert: pd.Timestamp | None
    lag_days: int | None
    n_true_alerts: int
    n_false_before_onset: int
    n_false_other_segments: int
    monitored_weeks: float
    false_alerts_per_week: float

    @property
    def n_false_alerts(self) -> int:
        """All false alerts: before the onset in any segment, plus in other segments after it.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.monitor import TrendDetectionScore
        >>> score = TrendDetectionScore(onset=pd.Timestamp("2026-02-20", tz="UTC"),
        ...     pattern_segments=(("VN", "fashion"),), detected=False, first_alert=None,
        ...     lag_days=None, n_true_alerts=0, n_false_before_onset=1,
        ...     n_false_other_segments=2, monitored_weeks=6.0, false_alerts_per_week=0.5)
        >>> score.n_false_alerts
        3
        """
        return self.n_false_before_onset + self.n_false_other_segments

    def __str__(self) -> str:
        found = (
            f"detected {self.lag_days} day(s) after onset ({self.first_alert:%Y-%m-%d})"
            if self.detected
            else "not detected"
        )
        return (
            f"pattern from {self.onset:%Y-%m-%d} in {len(self.pattern_segments)} segment(s): "
            f"{found}; {self.n_true_alerts} true alert(s); false alerts: "
            f"{self.n_false_before_onset} before onset, {self.n_false_other_segments} in "
            f"other segments after it ({self.false_alerts_per_week:.2f} per week over "
            f"{self.monitored_weeks:.1f} monitored weeks)"
        )


def evaluate_trend_detection(
    report: TrendReport,
    pattern: InjectedPattern,
    *,
    creators: pd.DataFrame | None = None,
) -> TrendDetectionScore:
    """Detection lag and false alerts of a trend report against an injected pattern.

    Parameters
    ----------
    report : TrendReport
        From :func:`detect_trends`; its segments must include ``market``.
    pattern : InjectedPattern
        ``world.truth.pattern`` of a simulated world.
    creators : DataFrame, optional
        The creators table: the pattern's segments are then the market x category of
        the affected creators. Without it, every segment of the pattern's market.

    Returns
    -------
    TrendDetectionScore

    Raises
    ------
    MonitorError
        The report is not segmented by market, or ``creators`` lacks the segment
        columns.

    Examples
    --------
    >>> import govml
    >>> from govml.monitor import detect_trends, evaluate_trend_detection
    >>> world = govml.simulate(n_creators=1000, n_days=100, seed=5, pattern_start_day=70,
    ...                        category_shares={"fashion": 1, "beauty": 1, "home": 1},
    ...                        sessions_per_week=3.0)
    >>> report = detect_trends(govml.session_features(world.tables))
    >>> score = evaluate_trend_detection(report, world.truth.pattern,
    ...                                  creators=world.tables.creators)
    >>> score.detected, score.lag_days, score.n_false_alerts
    (True, 0, 0)
    """
    if "market" not in report.segment:
        raise MonitorError(
            f"the report's segments {list(report.segment)} do not include 'market'; an "
            "injected pattern lives in a market: detect trends with segment=('market', ...)"
        )
    onset = pattern.started_at.tz_convert("UTC").floor("D")
    seg_cols = list(report.segment)
    if creators is not None:
        _require_columns(creators, ["creator_id", *seg_cols], "creators")
        hit = creators[creators["creator_id"].isin(pattern.creator_ids)]
        segments = {
            tuple(str(v) for v in row) for row in hit[seg_cols].itertuples(index=False, name=None)
        }
    else:
        daily = report.daily[report.daily["market"] == pattern.market]
        segments = {
            tuple(str(v) for v in row) for row in daily[seg_cols].itertuples(index=False, name=None)
        }
    alerts = report.alerts
    keys = [
        tuple(str(v) for v in row) for row in alerts[seg_cols].itertuples(index=False, name=None)
    ]
    in_pattern = np.array([k in segments for k in keys], dtype=bool)
    after = (alerts["day"] >= onset).to_numpy()
    true = alerts[in_pattern & after]
    first = true["day"].min() if len(true) else None
    monitored_days = report.daily.loc[report.daily["status"].isin(("ok", "alert")), "day"].nunique()
    weeks = monitored_days / 7
    n_false = int((~after).sum() + (after & ~in_pattern).sum())
    return TrendDetectionScore(
        onset=onset,
        pattern_segments=tuple(sorted(segments)),
        detected=first is not None,
        first_alert=first,
        lag_days=None if first is None else int((first - onset).days),
        n_true_alerts=len(true),
        n_false_before_onset=int((~after).sum()),
        n_false_other_segments=int((after & ~in_pattern).sum()),
        monitored_weeks=weeks,
        false_alerts_per_week=n_false / weeks if weeks else math.nan,
    )
