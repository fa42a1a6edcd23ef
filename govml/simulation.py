"""A synthetic live-shopping marketplace: govml's embedded default data.

:func:`simulate` builds a world of creators streaming in six APAC markets and returns
its six contract tables (:class:`govml.schema.Tables`, already in the normalised
contract dtypes) together with the ground truth, which is kept apart: nothing in the
tables is a truth column, so models, policies and monitors built on the tables can be
compared with an oracle.

What is latent and what shows
-----------------------------
Every creator has a latent *quality* (standard normal) and a latent *adversarial type*
(``none``, ``fake_engagement``, ``counterfeit``, ``off_platform``). Sleepers behave
like honest creators until ``adversarial_from`` (30-90 days after they start), then
turn. The latent state only shows through behaviour:

* each session draws a hidden *effort* ``e = 0.6 q + 0.8 noise`` around the creator's
  quality ``q``; effort drives the upstream content signals (low effort: many static or
  looped frames, little presenter speech), short watch time, few interactions, many
  viewer reports;
* fake engagement adds viewers and likes with a few seconds of watch time and no
  clicks or orders; counterfeit sellers sell cheap items that convert well and come
  back as refunds, returns and complaints; off-platform diversion shows clicks without
  orders and comment spikes;
* violations, penalties and moderator verdicts follow from the behaviour and appear
  with delays (see below).

Low-quality content (session task)
----------------------------------
The probability that a moderator judges a session low quality is a function of what
the platform observes plus the creator's quality, and nothing else::

    logit p = b0 + 1.55 logit static_frame_share - 1.4 logit speech_share
                 - 1.75 log(organic watch / 75 s) - 0.5 q

an additive function of three observable columns and the creator's quality. ``b0`` is
solved so that the mean of ``p`` over the world's sessions equals
``low_quality_rate``. The organic watch time is ``avg_watch_seconds`` except in
sessions inflated by fake engagement or the injected bots, whose bot viewers drag the
observed average down (the moderator judges the content, not the audience). The latent
verdict ``is_low_quality`` is one Bernoulli(p) draw per session; every review of a
session reports that draw, so labels are noisy but calibrated. Hidden per-session noise
never enters ``p``: a model that sees the session's metrics and estimates ``q`` from the
creator's history can approach the oracle (scoring with ``p``). Measured on the default
world with a LightGBM on the session's own metrics (trained on the first 60% of the
reviews, tested on the rest; three seeds): 0.979-0.987 of the oracle's PR-AUC with
shallow trees (``num_leaves`` 3-4, the logit being additive), 0.969-0.980 with 15
leaves. The oracle
separates the verdicts far better than any single column (AUC about 0.95 against 0.89
for ``static_frame_share``, the best one).

Adversarial sellers (creator task)
----------------------------------
While adversarial, each session of a creator commits a violation of the creator's kind
with probability ``adversarial_violation_rate x intensity`` (intensity uniform in
0.5-1.5 per creator), severe (major or critical) three times in four. Honest sessions
get false-positive violations at ``false_positive_rate``. Violations are detected with
probability ``detection_rate`` (false positives are detections by definition) after a
uniform 1-14 day delay. :meth:`GroundTruth.adversarial_probability` is the oracle for
the creator task's label: the probability that a violation of an adversarial kind,
severity major or critical, detected in ``[t, t + horizon)`` ends up confirmed, given
the creator's latent state and everything that happened before ``t``.

Enforcement, rewards and reviews
--------------------------------
* Violations: appealed by the creator with probability ``appeal_rate`` (genuine) or
  ``false_positive_appeal_rate`` (false positives); appeals are decided 3-21 days after
  detection and overturn with ``overturn_rate`` / ``false_positive_overturn_rate``.
  A violation that is not appealed is resolved (confirmed) when its appeal window closes
  ``appeal_window_days`` (7) after detection. Defaults give about 1 appeal in 5 and
  1 overturn in 3 appeals, false positives being the ones more often overturned.
  Health points: minor 1, major 4, critical 12.
* Account-health policy, run per creator in time order: at each detection the active
  points (detected, not expired after ``points_expiry_days``, not overturned as known at
  that time) are compared with the thresholds; crossing ``warning_points``,
  ``restriction_points`` or ``suspension_points`` gives a warning, a live restriction
  (``restriction_days``; half of the planned streams are blocked) or a suspension
  (``suspension_days``; no stream starts until it ends); a new major or critical
  violation while restricted or suspended repeats the penalty. A severe violation of an
  adversarial kind puts the commission on hold until the violation resolves.
* Rewards: a monthly ``incentive_reward`` (1st of each month) for active creators with
  no active points, no low-quality verdict and GMV above their market's median in the
  last 30 days; ``campaign_participation`` from 7 days before each mega-sale day for
  healthy, active creators who opt in; occasional ``commission_change`` (value = the
  new rate).
* Reviews: a random audit of about ``random_audit_rate`` of sessions; viewer-report
  reviews with probability ``1 - exp(-report_review_rate x viewer_reports)``; a risk
  queue per market and day with capacity ``risk_queue_share`` of the market's average
  daily sessions (rounded up or down at random), taking the sessions that ended that day with the highest platform
  risk score (a noisy function of observable signals) not already report-reviewed.
  Reviews happen 0-3 days after the session; ``reason`` is filled only for low quality.

The tables are an export taken at the end of the simulated period: a row is in its
table if its known-at time is before the end. A violation detected before the end whose
appeal is decided after it carries its eventual status and a ``resolved_at`` after the
end; point-in-time code treats it as confirmed until then.

Injected abuse pattern
----------------------
From ``pattern_start_day`` on, viewer bots inflate the viewers of a share of the
creators of ``pattern_market`` by ``pattern_bot_multiplier`` with about two seconds of
watch time, no likes, clicks or orders, and a spike in peak concurrent viewers. No
label, violation or action describes it: it is there for drift and new-trend monitors
to find. :class:`InjectedPattern` says where and from when.

Magnitudes
----------
Markets ID 35%, TH 20%, VN 18%, PH 15%, MY 9%, SG 3%; creators stream a median 1.8
times a week (log-normal spread 0.8, so the busiest stream daily or more), 30-240
minutes; viewers log-normal with a median near 300 and a top 1% in the tens of
thousands; weekends busier; mega-sale days (9.9, 10.10, 11.11, 12.12) bring 4x the
traffic and 1.8x the streams, payday weekends (Saturdays and Sundays from the 25th)
1.8x and 1.3x. Outcomes arrive 2-30 days after their session. Moderators review about 1%
of sessions by random audit, 3% on viewer reports and 2% from the risk queue. The default
world (2,000 creators x 120 days, about 79,000 sessions) simulates in under a second once
the numba kernels are compiled (a few seconds on first use, then cached on disk);
200,000 creators x 180 days (about 12 million sessions) in about 80 seconds and 3.5 GB
on two cores (``benchmarks/bench_simulate.py``).

Determinism
-----------
One ``seed`` gives identical tables and truth, bit for bit (numpy ``PCG64`` streams
spawned from one ``SeedSequence``, one per component; the numba kernels draw no random
numbers). Different seeds give different worlds.

Examples
--------
>>> import govml
>>> world = govml.simulate(n_creators=200, n_days=30, seed=1)
>>> sorted(world.tables.n_rows())[:3]
['actions', 'creators', 'outcomes']
>>> world.truth.sessions.columns[:3].tolist()
['session_id', 'creator_id', 'started_at']
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import json
import math
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from govml._exceptions import DataLoadError, SimulationError
from govml.schema import (
    ACTION_KINDS,
    ADVERSARIAL_VIOLATION_KINDS,
    CATEGORIES,
    MARKETS,
    OUTCOME_KINDS,
    REVIEW_REASONS,
    SAMPLE_REASONS,
    SEVERITIES,
    TABLE_NAMES,
    VIOLATION_KINDS,
    VIOLATION_STATUSES,
    Tables,
)

__all__ = [
    "ADVERSARIAL_TYPES",
    "HEALTH_POINTS",
    "SimulationConfig",
    "InjectedPattern",
    "GroundTruth",
    "SimulatedWorld",
    "simulate",
    "write_world",
    "read_truth",
]

#: Latent adversarial types of a creator.
ADVERSARIAL_TYPES: tuple[str, ...] = ("none", "fake_engagement", "counterfeit", "off_platform")
#: Account-health points a violation carries, by severity.
HEALTH_POINTS: dict[str, int] = {"minor": 1, "major": 4, "critical": 12}

_FORMAT_VERSION = 1

_SEC = 1_000_000
_MIN = 60 * _SEC
_HOUR = 60 * _MIN
_DAY = 24 * _HOUR
_NAT = np.iinfo(np.int64).min
_NEVER = np.iinfo(np.int64).max

#: UTC offset of each market in hours (none of them observes daylight saving time).
_UTC_OFFSET_HOURS = {"ID": 7, "MY": 8, "PH": 8, "SG": 8, "TH": 7, "VN": 7}
#: Streams (relative) by local weekday, Monday first: weekends are busier.
_WEEKDAY_STREAMS = np.array([0.9, 0.9, 0.95, 0.95, 1.05, 1.15, 1.1])
#: Audience (relative) by local weekday, Monday first.
_WEEKDAY_TRAFFIC = np.array([0.9, 0.9, 0.95, 1.0, 1.05, 1.2, 1.15])
#: Share of streams starting in each local hour: a lunch bump and an evening peak.
_HOUR_WEIGHTS = np.array(
    [0.004, 0.002, 0.001, 0.001, 0.001, 0.002, 0.008, 0.015, 0.025, 0.035, 0.045, 0.05]
    + [0.055, 0.05, 0.04, 0.035, 0.035, 0.045, 0.07, 0.105, 0.125, 0.115, 0.08, 0.036]
)
_HOUR_WEIGHTS = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
#: Average order value (USD) by market (MARKETS order: ID MY PH SG TH VN).
_MARKET_AOV = np.array([8.0, 12.0, 8.0, 25.0, 10.0, 9.0])
#: Price level, products listed, commission rate and static-frame offset by category
#: (CATEGORIES order: fashion beauty electronics home food mother_baby health sports).
_CATEGORY_AOV = np.array([1.0, 1.2, 3.0, 1.4, 0.6, 1.1, 1.3, 1.5])
_CATEGORY_PRODUCTS = np.array([18.0, 14.0, 8.0, 12.0, 10.0, 12.0, 9.0, 10.0])
_CATEGORY_COMMISSION = np.array([0.06, 0.07, 0.03, 0.05, 0.04, 0.05, 0.06, 0.05])
# product close-ups (electronics, home) show more static frames, so those categories
# are judged low quality more often
_CATEGORY_STATIC = np.array([0.0, 0.0, 0.6, 0.3, -0.2, 0.0, 0.1, -0.1])

#: Severity distribution (minor, major, critical) by violation source.
_SEVERITY_ADVERSARIAL = (0.25, 0.55, 0.20)
_SEVERITY_FALSE_POSITIVE = (0.50, 0.45, 0.05)
_SEVERITY_LOW_QUALITY = (0.85, 0.15, 0.0)
_SEVERITY_MISCONDUCT = (0.60, 0.35, 0.05)
#: Share of false positives that name an adversarial kind (the rest: other kinds).
_FALSE_POSITIVE_ADVERSARIAL_SHARE = 0.7
#: Share of violation records not tied to a session (found in listings or chats).
_NO_SESSION_SHARE = 0.1

_TYPE_KIND = {  # adversarial type -> violation kind index
    1: VIOLATION_KINDS.index("fake_engagement"),
    2: VIOLATION_KINDS.index("counterfeit"),
    3: VIOLATION_KINDS.index("off_platform_transaction"),
}
_MISCONDUCT_KINDS = tuple(
    VIOLATION_KINDS.index(k) for k in ("misleading_claim", "prohibited_item", "abusive_behaviour")
)
_ADVERSARIAL_KIND_IDX = tuple(VIOLATION_KINDS.index(k) for k in ADVERSARIAL_VIOLATION_KINDS)
_A_WARNING, _A_RESTRICTION, _A_HOLD, _A_SUSPENSION, _A_REWARD, _A_CAMPAIGN, _A_COMMISSION = (
    ACTION_KINDS.index(k)
    for k in (
        "warning",
        "live_restriction",
        "commission_hold",
        "suspension",
        "incentive_reward",
        "campaign_participation",
        "commission_change",
    )
)
_GAP_BETWEEN_STREAMS = 15 * _MIN

#: Correlation of a session's hidden effort with its creator's quality.
_EFFORT_FROM_QUALITY = 0.6
#: Content signals: (intercept, effort slope, own noise sd) of logit static_frame_share
#: (plus the category offset), logit speech_share and log organic watch seconds. Each
#: signal has its own noise, so no single column tells the moderator's verdict.
_STATIC_LOGIT = (-1.8, -0.7, 0.8)
_SPEECH_LOGIT = (1.0, 0.6, 0.8)
_WATCH_LOG = (math.log(75.0), 0.3, 0.45)
#: Weights of logit static, logit speech, log organic watch / 75 s and the creator's
#: quality in the logit of p_low_quality: steep enough that the oracle's PR-AUC is far
#: above any single column's, additive so that a model can learn it from a few
#: thousand labels.
_LOW_QUALITY_WEIGHTS = (1.55, 1.4, 1.75, 0.5)
#: Viewer reports per organic viewer of an average-effort session.
_REPORTS_PER_VIEWER = 0.0002


# ============================================================================ config


def _suggest(name: str, options: Sequence[str]) -> list[str]:
    """The closest option to a misspelt name (case-insensitive), if any is close."""
    lower = {o.lower(): o for o in options}
    return [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n=1)]


def _pairs(value: object, name: str, allowed: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    """Normalise a mapping (or pairs) of level -> non-negative weight to shares in contract order."""
    if isinstance(value, Mapping):
        items = list(value.items())
    else:
        try:
            items = [(k, w) for k, w in value]  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise SimulationError(
                f"{name}={value!r} must be a mapping of level to weight, e.g. "
                f"{{{allowed[0]!r}: 0.5, {allowed[1]!r}: 0.5}}; levels: {allowed}"
            ) from None
    weights = dict.fromkeys(allowed, 0.0)
    for key, weight in items:
        if key not in weights:
            hint = _suggest(str(key), allowed)
            raise SimulationError(
                f"{name} has unknown level {key!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
                + f"; allowed levels: {allowed}"
            )
        if not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise SimulationError(
                f"{name}[{key!r}]={weight!r} must be a finite number >= 0 (a relative weight)"
            )
        weights[key] = float(weight)
    total = sum(weights.values())
    if total <= 0:
        raise SimulationError(f"{name}={value!r} must have a positive total weight")
    return tuple((k, w / total) for k, w in weights.items())


@dataclass(frozen=True, kw_only=True)
class SimulationConfig:
    """Every parameter of the simulated world, with defaults and why.

    All parameters are keyword-only. Counts of creators and days scale the world; every
    other magnitude is a rate or share, so the world looks the same at any size.
    Mappings (``market_shares``, ``category_shares``, ``adversarial_mix``) take relative
    weights and are stored as normalised ``(level, share)`` pairs.

    Parameters
    ----------
    n_creators : int, default 2000
        Creator accounts (1 to 5,000,000). 2,000 x 120 days gives about 79,000 sessions
        and 5,000 reviews: enough labels to train and evaluate, simulated in under a
        second.
    n_days : int, default 120
        Days simulated (1 to 3,660). 120 days holds the four mega-sale days of the
        default start, a 90-day points expiry and several 30-day label horizons.
    start : datetime.date or ISO date string, default 2025-08-15
        First simulated day (UTC midnight). With 120 days the period covers 9.9, 10.10,
        11.11 and 12.12.
    seed : int, default 7
        Random seed (0 to 2**63 - 1); the same seed gives the same world, bit for bit.
    market_shares : mapping, default ID .35, TH .20, VN .18, PH .15, MY .09, SG .03
        Creators by market: the regional split of a large APAC marketplace.
    category_shares : mapping, default fashion .26, beauty .20, electronics .12, home .12, food .10, mother_baby .08, health .06, sports .06
        Creators by primary category: fashion and beauty dominate live shopping.
    new_creator_share : float, default 0.3
        Share of creators onboarded during the period (uniformly); the others joined
        30-730 days before it. Gives a steady flow of creators without history.
    business_share : float, default 0.3
        Share of registered businesses (they stream 30% more often).
    sessions_per_week : float, default 1.8
        Median planned streams per week per creator ("a few times a week").
    activity_spread : float, default 0.8
        Log-normal spread of creators' stream rates: heavy-tailed, the top 5% stream
        more than daily (capped at 3 per day).
    median_viewers : float, default 300
        Median unique viewers of a creator's typical stream ("in the hundreds").
    viewer_spread : float, default 1.3
        Log-normal spread of creators' audience sizes; with ``session_viewer_spread`` and
        sale days it puts the top 1% of sessions in the tens of thousands.
    session_viewer_spread : float, default 0.6
        Log-normal spread of one stream's audience around its creator's typical audience.
    mega_sale_days : tuple of (month, day), default 9.9, 10.10, 11.11, 12.12
        Double-date sale days, by local date.
    mega_sale_traffic : float, default 4.0
        Audience multiplier on mega-sale days ("several times normal").
    mega_sale_streams : float, default 1.8
        Stream-count multiplier on mega-sale days (more creators go live).
    payday_traffic : float, default 1.8
        Audience multiplier on payday weekends (Saturdays and Sundays from the 25th).
    payday_streams : float, default 1.3
        Stream-count multiplier on payday weekends.
    low_quality_rate : float, default 0.10
        Mean probability that a session is low quality ("roughly 10% overall").
    adversarial_share : float, default 0.04
        Share of creators with an adversarial type ("a few percent at any time").
    adversarial_mix : mapping, default fake_engagement .40, counterfeit .35, off_platform .25
        Adversarial creators by type.
    sleeper_share : float, default 0.35
        Share of adversarial creators who behave well first (sleepers).
    sleeper_days : (int, int), default (30, 90)
        Days sleepers behave before turning, counted from their first possible stream
        (uniform; "1-3 months").
    adversarial_violation_rate : float, default 0.15
        Probability that a session of an adversarial creator (at intensity 1) commits a
        violation of its kind; with detection, about 40% of adversarial creators get a
        confirmed severe violation detected within 30 days.
    false_positive_rate : float, default 0.002
        Probability that an honest session gets a false-positive violation record.
    misconduct_rate : float, default 0.004
        Probability that a session of an average creator commits a misleading claim,
        prohibited item or abusive behaviour (x2 per quality sd lower).
    low_quality_violation_rate : float, default 0.1
        Probability that a low-quality session commits a low_quality_content violation.
    detection_rate : float, default 0.5
        Probability that a genuine violation is detected (the rest never appears).
    detection_delay_days : (float, float), default (1, 14)
        Uniform delay from the violating behaviour to its detection.
    appeal_rate : float, default 0.13
        Probability that the creator appeals a genuine violation.
    false_positive_appeal_rate : float, default 0.55
        Probability that an honest creator appeals a false positive.
    overturn_rate : float, default 0.2
        Probability that an appeal of a genuine violation succeeds.
    false_positive_overturn_rate : float, default 0.5
        Probability that an appeal of a false positive succeeds. With the above, about
        one violation in five is appealed and one appeal in three overturned.
    appeal_resolution_days : (float, float), default (3, 21)
        Uniform delay from detection to the decision of an appeal.
    appeal_window_days : float, default 7
        Days after detection during which a creator may appeal; a violation that is not
        appealed is resolved (confirmed) when the window closes.
    outcome_delay_days : (float, float), default (2, 30)
        Uniform delay from a session's end to its refunds, complaints and returns.
    points_expiry_days : float, default 90
        Health points stay active this long after detection.
    warning_points, restriction_points, suspension_points : int, default 4, 8, 12
        Active-point thresholds of the account-health policy: one major violation earns
        a warning, two a live restriction, three or one critical a suspension.
    restriction_days : float, default 7
        Length of a live restriction.
    suspension_days : float, default 14
        Length of a suspension (no stream starts while suspended).
    restriction_block_share : float, default 0.5
        Share of planned streams a live restriction blocks.
    random_audit_rate : float, default 0.01
        Share of sessions sampled for a random audit (the unbiased label sample).
    report_review_rate : float, default 0.15
        A session with ``r`` viewer reports is reviewed with probability
        ``1 - exp(-report_review_rate * r)`` (14% for 1 report, 53% for 5, 95% for 20):
        about 3% of sessions, one in six of them low quality.
    risk_queue_share : float, default 0.02
        Daily risk-queue capacity per market, as a share of the market's average daily
        sessions (a fractional capacity is rounded up or down at random each day, so
        small markets get their share too): about 2% of sessions, three in four low
        quality.
    review_delay_days : (float, float), default (0, 3)
        Uniform delay from a session's end to its review.
    pattern_market : str, default "VN"
        Market of the injected viewer-bot pattern.
    pattern_start_day : int or None, default None
        Day (0-based, from ``start``) the pattern starts; None: 70% through the period.
    pattern_creator_share : float, default 0.2
        Share of the market's creators whose streams get bots (0 disables the pattern).
    pattern_bot_multiplier : float, default 4.0
        Median bot viewers per organic viewer in affected streams.

    Examples
    --------
    >>> from govml.simulation import SimulationConfig
    >>> cfg = SimulationConfig(n_creators=500, n_days=60, seed=1)
    >>> cfg.end.isoformat(), dict(cfg.market_shares)["ID"]
    ('2025-10-14', 0.35)
    >>> SimulationConfig(n_days=0)
    Traceback (most recent call last):
    ...
    govml._exceptions.SimulationError: n_days=0 is out of range; expected an integer in [1, 3660]
    """

    n_creators: int = 2000
    n_days: int = 120
    start: dt.date = dt.date(2025, 8, 15)
    seed: int = 7
    market_shares: Any = (
        ("ID", 0.35),
        ("MY", 0.09),
        ("PH", 0.15),
        ("SG", 0.03),
        ("TH", 0.20),
        ("VN", 0.18),
    )
    category_shares: Any = (
        ("fashion", 0.26),
        ("beauty", 0.20),
        ("electronics", 0.12),
        ("home", 0.12),
        ("food", 0.10),
        ("mother_baby", 0.08),
        ("health", 0.06),
        ("sports", 0.06),
    )
    new_creator_share: float = 0.3
    business_share: float = 0.3
    sessions_per_week: float = 1.8
    activity_spread: float = 0.8
    median_viewers: float = 300.0
    viewer_spread: float = 1.3
    session_viewer_spread: float = 0.6
    mega_sale_days: tuple[tuple[int, int], ...] = ((9, 9), (10, 10), (11, 11), (12, 12))
    mega_sale_traffic: float = 4.0
    mega_sale_streams: float = 1.8
    payday_traffic: float = 1.8
    payday_streams: float = 1.3
    low_quality_rate: float = 0.10
    adversarial_share: float = 0.04
    adversarial_mix: Any = (("fake_engagement", 0.4), ("counterfeit", 0.35), ("off_platform", 0.25))
    sleeper_share: float = 0.35
    sleeper_days: tuple[int, int] = (30, 90)
    adversarial_violation_rate: float = 0.15
    false_positive_rate: float = 0.002
    misconduct_rate: float = 0.004
    low_quality_violation_rate: float = 0.1
    detection_rate: float = 0.5
    detection_delay_days: tuple[float, float] = (1.0, 14.0)
    appeal_rate: float = 0.13
    false_positive_appeal_rate: float = 0.55
    overturn_rate: float = 0.2
    false_positive_overturn_rate: float = 0.5
    appeal_resolution_days: tuple[float, float] = (3.0, 21.0)
    appeal_window_days: float = 7.0
    outcome_delay_days: tuple[float, float] = (2.0, 30.0)
    points_expiry_days: float = 90.0
    warning_points: int = 4
    restriction_points: int = 8
    suspension_points: int = 12
    restriction_days: float = 7.0
    suspension_days: float = 14.0
    restriction_block_share: float = 0.5
    random_audit_rate: float = 0.01
    report_review_rate: float = 0.15
    risk_queue_share: float = 0.02
    review_delay_days: tuple[float, float] = (0.0, 3.0)
    pattern_market: str = "VN"
    pattern_start_day: int | None = None
    pattern_creator_share: float = 0.2
    pattern_bot_multiplier: float = 4.0

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        set_("start", _as_date(self.start))
        for name, lo, hi in _INT_RANGES:
            _check_number(name, getattr(self, name), lo, hi, integer=True)
        for name, lo, hi in _FLOAT_RANGES:
            set_(name, float(_check_number(name, getattr(self, name), lo, hi, integer=False)))
        for name, lo, hi, integer in _PAIR_RANGES:
            set_(name, _check_pair(name, getattr(self, name), lo, hi, integer=integer))
        set_("market_shares", _pairs(self.market_shares, "market_shares", MARKETS))
        set_("category_shares", _pairs(self.category_shares, "category_shares", CATEGORIES))
        set_(
            "adversarial_mix",
            _pairs(self.adversarial_mix, "adversarial_mix", ADVERSARIAL_TYPES[1:]),
        )
        set_("mega_sale_days", _check_sale_days(self.mega_sale_days))
        if not self.warning_points <= self.restriction_points <= self.suspension_points:
            raise SimulationError(
                f"warning_points={self.warning_points}, restriction_points="
                f"{self.restriction_points}, suspension_points={self.suspension_points} must "
                "be non-decreasing (warning <= restriction <= suspension)"
            )
        if self.pattern_market not in MARKETS:
            raise SimulationError(
                f"pattern_market={self.pattern_market!r} is not a market; expected one of {MARKETS}"
            )
        if self.pattern_start_day is not None:
            _check_number(
                "pattern_start_day", self.pattern_start_day, 0, self.n_days - 1, integer=True
            )

    # ------------------------------------------------------------------ derived
    @property
    def end(self) -> dt.date:
        """The first day after the period (UTC midnight; exclusive).

        Examples
        --------
        >>> from govml import SimulationConfig
        >>> SimulationConfig(n_creators=40, n_days=14, start="2025-08-15").end
        datetime.date(2025, 8, 29)
        """
        return self.start + dt.timedelta(days=self.n_days)

    @property
    def pattern_day(self) -> int:
        """The day (0-based) the injected pattern starts.

        ``pattern_start_day`` when given, else 70% into the period.

        Examples
        --------
        >>> from govml import SimulationConfig
        >>> SimulationConfig(n_creators=40, n_days=100).pattern_day
        70
        >>> SimulationConfig(n_creators=40, n_days=100, pattern_start_day=5).pattern_day
        5
        """
        if self.pattern_start_day is not None:
            return self.pattern_start_day
        return min(self.n_days - 1, int(0.7 * self.n_days))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the parameters (``SimulationConfig(**d)`` rebuilds it).

        Examples
        --------
        >>> from govml import SimulationConfig
        >>> config = SimulationConfig(n_creators=40, n_days=14, start="2025-08-15")
        >>> d = config.to_dict()
        >>> d["start"], SimulationConfig(**d) == config
        ('2025-08-15', True)
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            out[f.name] = value
        return out


_INT_RANGES: tuple[tuple[str, int, int], ...] = (
    ("n_creators", 1, 5_000_000),
    ("n_days", 1, 3660),
    ("seed", 0, 2**63 - 1),
    ("warning_points", 1, 1000),
    ("restriction_points", 1, 1000),
    ("suspension_points", 1, 1000),
)
_FLOAT_RANGES: tuple[tuple[str, float, float], ...] = (
    ("new_creator_share", 0.0, 1.0),
    ("business_share", 0.0, 1.0),
    ("sessions_per_week", 0.01, 21.0),
    ("activity_spread", 0.0, 3.0),
    ("median_viewers", 1.0, 1e6),
    ("viewer_spread", 0.0, 3.0),
    ("session_viewer_spread", 0.0, 3.0),
    ("mega_sale_traffic", 0.1, 50.0),
    ("mega_sale_streams", 0.1, 10.0),
    ("payday_traffic", 0.1, 50.0),
    ("payday_streams", 0.1, 10.0),
    ("low_quality_rate", 0.001, 0.9),
    ("adversarial_share", 0.0, 0.5),
    ("sleeper_share", 0.0, 1.0),
    ("adversarial_violation_rate", 0.0, 0.66),
    ("false_positive_rate", 0.0, 0.1),
    ("misconduct_rate", 0.0, 0.1),
    ("low_quality_violation_rate", 0.0, 1.0),
    ("detection_rate", 0.0, 1.0),
    ("appeal_rate", 0.0, 1.0),
    ("false_positive_appeal_rate", 0.0, 1.0),
    ("overturn_rate", 0.0, 1.0),
    ("false_positive_overturn_rate", 0.0, 1.0),
    ("appeal_window_days", 0.0, 60.0),
    ("points_expiry_days", 1.0, 3650.0),
    ("restriction_days", 0.0, 365.0),
    ("suspension_days", 0.0, 365.0),
    ("restriction_block_share", 0.0, 1.0),
    ("random_audit_rate", 0.0, 1.0),
    ("report_review_rate", 0.0, 100.0),
    ("risk_queue_share", 0.0, 1.0),
    ("pattern_creator_share", 0.0, 1.0),
    ("pattern_bot_multiplier", 0.0, 1000.0),
)
_PAIR_RANGES: tuple[tuple[str, float, float, bool], ...] = (
    ("sleeper_days", 0, 3650, True),
    ("detection_delay_days", 0.0, 365.0, False),
    ("appeal_resolution_days", 0.0, 365.0, False),
    ("outcome_delay_days", 0.0, 365.0, False),
    ("review_delay_days", 0.0, 365.0, False),
)


def _check_number(name: str, value: object, lo: float, hi: float, *, integer: bool) -> float:
    kind = "an integer" if integer else "a number"
    ok_type = (
        isinstance(value, (int, np.integer))
        if integer
        else isinstance(value, (int, float, np.integer, np.floating))
    )
    if isinstance(value, (bool, np.bool_)) or not ok_type:
        raise SimulationError(
            f"{name}={value!r} has type {type(value).__name__}; expected {kind} in [{lo}, {hi}]"
        )
    if not (math.isfinite(float(value)) and lo <= value <= hi):  # type: ignore[operator]
        raise SimulationError(f"{name}={value!r} is out of range; expected {kind} in [{lo}, {hi}]")
    return value  # type: ignore[return-value]


def _check_pair(name: str, value: object, lo: float, hi: float, *, integer: bool) -> tuple:
    try:
        a, b = value  # type: ignore[misc]
    except (TypeError, ValueError):
        raise SimulationError(
            f"{name}={value!r} must be a pair (low, high) with {lo} <= low <= high <= {hi}"
        ) from None
    a = _check_number(f"{name}[0]", a, lo, hi, integer=integer)
    b = _check_number(f"{name}[1]", b, lo, hi, integer=integer)
    if a > b:
        raise SimulationError(f"{name}={value!r} must be a pair (low, high) with low <= high")
    return (int(a), int(b)) if integer else (float(a), float(b))


def _check_sale_days(value: object) -> tuple[tuple[int, int], ...]:
    out = []
    try:
        pairs = [tuple(v) for v in value]  # type: ignore[union-attr]
    except TypeError:
        pairs = [()]
    for pair in pairs:
        try:
            month, day = (int(x) for x in pair)
            dt.date(2024, month, day)  # a leap year accepts 2.29
        except (TypeError, ValueError):
            raise SimulationError(
                f"mega_sale_days={value!r} must be (month, day) pairs of real dates, "
                "e.g. ((9, 9), (11, 11))"
            ) from None
        out.append((month, day))
    return tuple(sorted(set(out)))


def _as_date(value: object) -> dt.date:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            raise SimulationError(
                f"start={value!r} is not an ISO date; pass e.g. '2025-08-15' or datetime.date"
            ) from None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        if value.time() != dt.time(0):
            raise SimulationError(
                f"start={value!r} is not midnight; the period starts at a UTC midnight, "
                "pass a date such as datetime.date(2025, 8, 15)"
            )
        value = value.date()
    if not isinstance(value, dt.date):
        raise SimulationError(
            f"start={value!r} has type {type(value).__name__}; pass a datetime.date or an "
            "ISO date string such as '2025-08-15'"
        )
    if not dt.date(1971, 1, 1) <= value <= dt.date(2200, 1, 1):
        raise SimulationError(f"start={value} is out of range; expected a date in [1971, 2200]")
    return value


# ============================================================================ results


@dataclass(frozen=True)
class InjectedPattern:
    """The injected new abuse: viewer bots in one market from one day, on some creators.

    Attributes
    ----------
    market : str
        Market the pattern appears in.
    started_at : Timestamp
        UTC time from which affected creators' streams carry bots.
    creator_ids : tuple of str
        Affected creators.
    description : str
        What the pattern looks like in the data.
    bot_multiplier : float
        Median bot viewers per organic viewer.

    Examples
    --------
    >>> import govml
    >>> pattern = govml.simulate(n_creators=40, n_days=14, seed=1).truth.pattern
    >>> pattern.market, str(pattern.started_at)
    ('VN', '2025-08-24 00:00:00+00:00')
    >>> len(pattern.creator_ids) > 0, pattern.bot_multiplier
    (True, 4.0)
    """

    market: str
    started_at: pd.Timestamp
    creator_ids: tuple[str, ...]
    description: str
    bot_multiplier: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``started_at`` as ISO 8601).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml import InjectedPattern
        >>> p = InjectedPattern("VN", pd.Timestamp("2025-08-24", tz="UTC"), ("C1",), "bots", 4.0)
        >>> p.to_dict()["started_at"]
        '2025-08-24T00:00:00+00:00'
        """
        return {
            "market": self.market,
            "started_at": self.started_at.isoformat(),
            "creator_ids": list(self.creator_ids),
            "description": self.description,
            "bot_multiplier": self.bot_multiplier,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InjectedPattern:
        """Inverse of :meth:`to_dict`.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml import InjectedPattern
        >>> p = InjectedPattern("VN", pd.Timestamp("2025-08-24", tz="UTC"), ("C1",), "bots", 4.0)
        >>> InjectedPattern.from_dict(p.to_dict()) == p
        True
        """
        return cls(
            market=str(data["market"]),
            started_at=pd.Timestamp(data["started_at"]).tz_convert("UTC").as_unit("us"),
            creator_ids=tuple(str(c) for c in data["creator_ids"]),
            description=str(data["description"]),
            bot_multiplier=float(data["bot_multiplier"]),
        )


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """The latent truth of a simulated world, kept apart from its tables.

    Attributes
    ----------
    sessions : DataFrame
        One row per session of the tables, same order: ``session_id, creator_id,
        started_at, ended_at``; ``p_low_quality`` (the true probability that a moderator
        judges the session low quality), ``is_low_quality`` (the latent draw every
        review of the session reports) and ``p_adversarial_violation`` (the probability
        that the session gives rise to a detected, confirmed, major or critical
        violation of an adversarial kind: the creator task's label event).
    creators : DataFrame
        One row per creator, same order as the table: ``creator_id, market,
        onboarded_at, latent_quality, adversarial_type`` (categorical,
        :data:`ADVERSARIAL_TYPES`), ``adversarial_from`` (NaT if never; for sleepers
        part-way through, possibly after the period), ``is_sleeper``,
        ``sessions_per_day`` (planned streams on an ordinary weekday),
        ``typical_minutes`` (stream length), ``daily_hazard`` (major or critical
        adversarial violations committed per day while adversarial, at ordinary
        traffic; 0 for honest creators) and ``session_label_prob`` (per stream while
        adversarial, the probability of the label event).
    penalties : DataFrame
        Stream-blocking penalties: ``creator_id, started_at, ends_at, stream_factor``
        (0 for a suspension, ``1 - restriction_block_share`` for a live restriction).
    pattern : InjectedPattern
        The injected abuse.
    config : SimulationConfig
        The parameters of the world.

    Examples
    --------
    >>> import govml
    >>> world = govml.simulate(n_creators=40, n_days=14, seed=1)
    >>> truth = world.truth
    >>> truth  # doctest: +ELLIPSIS
    GroundTruth(sessions=..., creators=40, adversarial=..., pattern=VN@2025-08-24)
    >>> truth.sessions["session_id"].equals(world.tables.sessions["session_id"])
    True
    >>> truth.sessions[["p_low_quality", "is_low_quality"]].dtypes.astype(str).tolist()
    ['float64', 'bool']
    """

    sessions: pd.DataFrame = field(repr=False)
    creators: pd.DataFrame = field(repr=False)
    penalties: pd.DataFrame = field(repr=False)
    pattern: InjectedPattern
    config: SimulationConfig

    def __repr__(self) -> str:
        return (
            f"GroundTruth(sessions={len(self.sessions):,}, creators={len(self.creators):,}, "
            f"adversarial={int((self.creators['adversarial_type'] != 'none').sum()):,}, "
            f"pattern={self.pattern.market}@{self.pattern.started_at.date()})"
        )

    @property
    def honest_session_label_prob(self) -> float:
        """Per honest stream, the probability of the label event (a confirmed false positive).

        Examples
        --------
        >>> import govml
        >>> truth = govml.simulate(n_creators=40, n_days=14, seed=1).truth
        >>> 0 < truth.honest_session_label_prob < 0.01
        True
        """
        return _honest_label_prob(self.config)

    # ------------------------------------------------------------------ queries
    def _creator_codes(self, creator_ids: object) -> np.ndarray:
        ids = pd.Index(self.creators["creator_id"])
        asked = pd.Index(np.asarray(creator_ids, dtype=object).ravel())
        codes = ids.get_indexer(asked)
        if (codes < 0).any():
            unknown = asked[codes < 0].unique()[:5].tolist()
            raise SimulationError(
                f"{int((codes < 0).sum())} creator id(s) are not in this world "
                f"(e.g. {unknown}); ask only about ids in truth.creators['creator_id']"
            )
        return codes

    @staticmethod
    def _times(times: object, n: int) -> np.ndarray:
        if isinstance(times, (pd.Series, pd.Index)) and isinstance(times.dtype, pd.DatetimeTZDtype):
            index = pd.DatetimeIndex(times)
        elif isinstance(times, (str, dt.datetime, np.datetime64)):
            index = pd.DatetimeIndex([pd.Timestamp(times)])
        else:
            index = pd.DatetimeIndex(np.atleast_1d(np.asarray(times, dtype=object)).ravel())
        if index.tz is None:
            raise SimulationError(
                "times must be timezone-aware (e.g. pd.Timestamp('2025-10-01', tz='UTC')); "
                "naive times are ambiguous"
            )
        if index.hasnans:
            raise SimulationError(f"times hold {int(index.isna().sum())} missing value(s)")
        values = index.tz_convert("UTC").as_unit("us").asi8
        if len(values) == 1 and n != 1:
            values = np.repeat(values, n)
        if len(values) != n:
            raise SimulationError(
                f"got {n} creator ids but {len(values)} times; pass one time per id or one "
                "time for all"
            )
        return values

    def adversarial_state(self, creator_ids: object, times: object) -> np.ndarray:
        """The latent adversarial type of each creator at each time (``"none"`` before turning).

        Parameters
        ----------
        creator_ids : array-like of str
            Creators (every id must exist in the world).
        times : timestamp or array-like of timestamps
            Timezone-aware times, one per id (or one for all).

        Returns
        -------
        ndarray of str
            A value of :data:`ADVERSARIAL_TYPES` per pair.

        Examples
        --------
        >>> import govml, pandas as pd
        >>> truth = govml.simulate(n_creators=300, n_days=20, seed=2).truth
        >>> row = truth.creators[truth.creators["adversarial_type"] != "none"].iloc[0]
        >>> after = row["adversarial_from"] + pd.Timedelta(days=1)
        >>> truth.adversarial_state([row["creator_id"]], after)[0] == row["adversarial_type"]
        True
        """
        codes = self._creator_codes(creator_ids)
        t = self._times(times, len(codes))
        frm = _micros(self.creators["adversarial_from"])[codes]
        kind = self.creators["adversarial_type"].astype(str).to_numpy()[codes]
        return np.where((frm != _NAT) & (frm <= t), kind, "none").astype(str)

    def adversarial_probability(
        self,
        creator_ids: object,
        times: object,
        *,
        horizon: str | pd.Timedelta = "30D",
        intensity: Literal["true", "mean"] = "true",
        stream_rate: object = None,
    ) -> np.ndarray:
        """Oracle score of the creator task: P(label event in ``[t, t + horizon)``).

        The label event is a violation of an adversarial kind (counterfeit,
        off-platform transaction, fake engagement), severity major or critical, detected
        in ``[t, t + horizon)``, whose final status is confirmed. The probability is
        computed from the creator's latent state (activity, adversarial type, when it
        turns, intensity) and what happened before ``t``: the streams the creator
        actually held (violations of those not yet detected at ``t`` may still be
        detected in the window) and penalties already imposed that block future streams.
        Streams after ``t`` are integrated over the creator's planned stream rate by
        local hour and sale calendar.

        ``intensity`` and ``stream_rate`` make *partial* oracles, which measure what
        limits a model: a scorer that knows who is adversarial and from when, but not
        how hard each one pushes (``intensity="mean"``) or how often each one will
        stream (``stream_rate`` estimated from the tables).

        Parameters
        ----------
        creator_ids : array-like of str
        times : timestamp or array-like of timestamps
            Timezone-aware, one per id (or one for all).
        horizon : str or Timedelta, default "30D"
        intensity : {"true", "mean"}, default "true"
            ``"mean"`` gives every adversarial creator the mean violation probability per
            stream of the world's adversarial creators (the past streams' too).
        stream_rate : array-like of float, optional
            Planned streams per ordinary day, one per query, instead of each creator's
            true ``sessions_per_day``.

        Returns
        -------
        ndarray of float64

        Examples
        --------
        >>> import govml
        >>> world = govml.simulate(n_creators=300, n_days=60, seed=3)
        >>> truth = world.truth
        >>> t = world.tables.sessions["started_at"].min() + pd.Timedelta(days=30)
        >>> p = truth.adversarial_probability(truth.creators["creator_id"], t)
        >>> adversarial = truth.adversarial_state(truth.creators["creator_id"], t) != "none"
        >>> bool(p[adversarial].mean() > 5 * p[~adversarial].mean())
        True

        A scorer that knows who is adversarial but not how intense or how busy:

        >>> rate = np.full(len(p), truth.creators["sessions_per_day"].mean())
        >>> partial = truth.adversarial_probability(
        ...     truth.creators["creator_id"], t, intensity="mean", stream_rate=rate)
        >>> bool(np.corrcoef(p, partial)[0, 1] > 0.5)
        True
        """
        if intensity not in ("true", "mean"):
            raise SimulationError(
                f"intensity={intensity!r}; use 'true' (each creator's own) or 'mean'"
            )
        try:
            h = pd.Timedelta(horizon)
        except (TypeError, ValueError):
            h = pd.NaT
        if h is pd.NaT or h <= pd.Timedelta(0):
            raise SimulationError(
                f"horizon={horizon!r} is not a positive duration; pass e.g. '30D' or "
                "pd.Timedelta(days=30)"
            )
        h_us = int(h / pd.Timedelta(microseconds=1))
        codes = self._creator_codes(creator_ids)
        t = self._times(times, len(codes))
        state = list(self._oracle_state)
        if stream_rate is None:
            rate = state[4][codes]
        else:
            rate = np.asarray(stream_rate, dtype=np.float64).ravel()
            if len(rate) != len(codes) or not (np.isfinite(rate) & (rate >= 0)).all():
                raise SimulationError(
                    f"stream_rate must hold one finite rate >= 0 per query ({len(codes):,}); "
                    f"got {len(rate):,} values"
                    + ("" if len(rate) != len(codes) else " with negative or missing ones")
                )
        state[4] = rate
        if intensity == "mean":
            q = state[8]
            mean = float(q[q > 0].mean()) if (q > 0).any() else 0.0
            state[8] = np.where(q > 0, mean, 0.0)
            # past streams of adversarial creators: their probability is above the honest one
            state[3] = np.where(
                state[3] > self.honest_session_label_prob * (1 + 1e-9), mean, state[3]
            )
        out = np.empty(len(codes), dtype=np.float64)
        if len(codes) == 0:
            return out
        c = self.config
        first_day = int(t.min() // _DAY) - 2
        last_day = int((t.max() + h_us) // _DAY) + 2
        streams, _ = _day_multipliers(c, first_day, last_day - first_day + 1)
        _kernel("oracle")(
            codes.astype(np.int64),
            t,
            np.int64(h_us),
            *state,
            np.int64(first_day),
            streams,
            _HOUR_WEIGHTS.astype(np.float64),
            np.float64(c.detection_delay_days[0] * _DAY),
            np.float64(c.detection_delay_days[1] * _DAY),
            out,
        )
        return out

    @functools.cached_property
    def _oracle_state(self) -> tuple[np.ndarray, ...]:
        cr = self.creators
        n = len(cr)
        code = pd.Index(cr["creator_id"])
        s = self.sessions
        s_code = code.get_indexer(s["creator_id"]).astype(np.int64)
        s_start = _micros(s["started_at"])
        order = np.lexsort((s_start, s_code))
        s_off = np.searchsorted(s_code[order], np.arange(n + 1)).astype(np.int64)
        p = self.penalties
        p_code = code.get_indexer(p["creator_id"]).astype(np.int64)
        p_start = _micros(p["started_at"])
        p_order = np.lexsort((p_start, p_code))
        p_off = np.searchsorted(p_code[p_order], np.arange(n + 1)).astype(np.int64)
        offsets = np.array([_UTC_OFFSET_HOURS[m] * _HOUR for m in MARKETS], dtype=np.int64)
        market = pd.Categorical(cr["market"], categories=MARKETS).codes
        adv_from = _micros(cr["adversarial_from"])
        adv_from = np.where(adv_from == _NAT, _NEVER, adv_from)
        return (
            s_off,
            s_start[order],
            _micros(s["ended_at"])[order],
            s["p_adversarial_violation"].to_numpy(np.float64)[order],
            cr["sessions_per_day"].to_numpy(np.float64),
            offsets[market],
            _micros(cr["onboarded_at"]),
            adv_from,
            cr["session_label_prob"].to_numpy(np.float64),
            np.float64(self.honest_session_label_prob),
            cr["typical_minutes"].to_numpy(np.float64) * (_MIN / 2),
            p_off,
            p_start[p_order],
            _micros(p["ends_at"])[p_order],
            p["stream_factor"].to_numpy(np.float64)[p_order],
        )


@dataclass(frozen=True, eq=False)
class SimulatedWorld:
    """A simulated world: the six contract tables, the ground truth and the parameters.

    Attributes
    ----------
    tables : Tables
        The observable data, in the normalised contract dtypes.
    truth : GroundTruth
        The latent truth (never part of the tables).
    config : SimulationConfig

    Examples
    --------
    >>> import govml
    >>> world = govml.simulate(n_creators=40, n_days=14, seed=1)
    >>> world  # doctest: +ELLIPSIS
    SimulatedWorld(40 creators x 14 days, seed 1: creators=40, sessions=..., reviews=...)
    >>> world.config.n_days, len(world.truth.creators) == len(world.tables.creators)
    (14, True)
    """

    tables: Tables = field(repr=False)
    truth: GroundTruth = field(repr=False)
    config: SimulationConfig = field(repr=False)

    def __repr__(self) -> str:
        rows = ", ".join(f"{k}={v:,}" for k, v in self.tables.n_rows().items())
        c = self.config
        return f"SimulatedWorld({c.n_creators:,} creators x {c.n_days} days, seed {c.seed}: {rows})"


# ============================================================================ helpers


def _micros(series: pd.Series) -> np.ndarray:
    """A UTC timestamp column as int64 microseconds (NaT -> int64 min)."""
    return series.dt.as_unit("us").to_numpy(dtype="datetime64[us]").view(np.int64)


def _ts(values: np.ndarray) -> pd.Series:
    """int64 microseconds (int64 min = NaT) -> ``datetime64[us, UTC]``."""
    return pd.Series(np.asarray(values, dtype=np.int64).view("datetime64[us]")).dt.tz_localize(
        "UTC"
    )


def _ids(prefix: str, n: int, width: int) -> pd.Series:
    """``prefix`` + zero-padded 0..n-1, as pandas' ``str`` dtype (Arrow-backed)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    width = max(width, len(str(max(n - 1, 0))))
    digits = pc.utf8_lpad(pa.array(np.arange(n, dtype=np.int64)).cast(pa.string()), width, "0")
    return _str_series(pc.binary_join_element_wise(prefix, digits, ""))


def _str_series(array: Any) -> pd.Series:
    return pd.Series(pd.array(array, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))


def _take_ids(ids: pd.Series, codes: np.ndarray) -> pd.Series:
    """``ids[codes]`` with code -1 -> missing, without per-row Python objects."""
    import pyarrow as pa

    arrow = pa.array(ids.array)
    indices = pa.array(codes, mask=codes < 0) if (codes < 0).any() else pa.array(codes)
    return _str_series(arrow.take(indices))


def _categorical(codes: np.ndarray, levels: tuple[str, ...]) -> pd.Series:
    dtype = pd.CategoricalDtype(list(levels))
    return pd.Series(pd.Categorical.from_codes(np.asarray(codes, dtype=np.int8), dtype=dtype))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _uniform_us(rng: np.random.Generator, n: int, lo_days: float, hi_days: float) -> np.ndarray:
    """Uniform durations in [lo, hi] days, whole seconds, as int64 microseconds."""
    lo, hi = round(lo_days * 86_400), round(hi_days * 86_400)
    return rng.integers(lo, hi, size=n, endpoint=True, dtype=np.int64) * _SEC


def _severity(rng: np.random.Generator, n: int, probs: tuple[float, float, float]) -> np.ndarray:
    u = rng.random(n)
    return (u >= probs[0]).astype(np.int8) + (u >= probs[0] + probs[1]).astype(np.int8)


def _epoch_day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _day_multipliers(
    config: SimulationConfig, first_day: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stream and audience multipliers of local dates ``first_day .. first_day + n - 1`` (epoch days)."""
    days = np.arange(first_day, first_day + n, dtype=np.int64)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    day_of_month = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    month = months.astype(np.int64) % 12 + 1
    mega = np.zeros(n, dtype=bool)
    for m, d in config.mega_sale_days:
        mega |= (month == m) & (day_of_month == d)
    payday = (day_of_month >= 25) & (weekday >= 5) & ~mega
    streams = _WEEKDAY_STREAMS[weekday] * np.where(
        mega, config.mega_sale_streams, np.where(payday, config.payday_streams, 1.0)
    )
    traffic = _WEEKDAY_TRAFFIC[weekday] * np.where(
        mega, config.mega_sale_traffic, np.where(payday, config.payday_traffic, 1.0)
    )
    return streams, traffic


# ============================================================================ kernels


def _enforce_kernel(
    s_off,
    s_start,
    s_u,
    v_off,
    v_session,
    v_detected,
    v_resolved,
    v_overturned,
    v_points,
    v_severe,
    v_hold,
    expiry,
    warn_pts,
    restrict_pts,
    suspend_pts,
    restrict_len,
    suspend_len,
    block_share,
    codes,
    alive,
    v_alive,
    a_creator,
    a_kind,
    a_taken,
    a_ends,
    a_viol,
):  # pragma: no cover - compiled by numba
    """Per creator in time order: which planned streams happen, which penalties follow.

    ``codes`` holds the action-kind codes of warning, live restriction, commission hold
    and suspension.
    """
    n_actions = 0
    n_creators = len(s_off) - 1
    max_blocks = 0
    for c in range(n_creators):
        m = v_off[c + 1] - v_off[c]
        if m > max_blocks:
            max_blocks = m
    b_start = np.empty(max_blocks + 1, dtype=np.int64)
    b_end = np.empty(max_blocks + 1, dtype=np.int64)
    b_full = np.empty(max_blocks + 1, dtype=np.bool_)
    for c in range(n_creators):
        i = s_off[c]
        i_hi = s_off[c + 1]
        j = v_off[c]
        j_lo = v_off[c]
        j_hi = v_off[c + 1]
        nb = 0
        while i < i_hi or j < j_hi:
            if j < j_hi and (i >= i_hi or v_detected[j] <= s_start[i]):
                if alive[v_session[j]]:
                    v_alive[j] = True
                    t = v_detected[j]
                    before = 0
                    for k in range(j_lo, j):
                        if (
                            v_alive[k]
                            and v_detected[k] + expiry > t
                            and not (v_overturned[k] and v_resolved[k] <= t)
                        ):
                            before += v_points[k]
                    after = before + v_points[j]
                    lb = 0
                    if before >= suspend_pts:
                        lb = 3
                    elif before >= restrict_pts:
                        lb = 2
                    elif before >= warn_pts:
                        lb = 1
                    la = 0
                    if after >= suspend_pts:
                        la = 3
                    elif after >= restrict_pts:
                        la = 2
                    elif after >= warn_pts:
                        la = 1
                    if la > lb or (la >= 2 and v_severe[j]):
                        a_creator[n_actions] = c
                        a_taken[n_actions] = t
                        a_viol[n_actions] = j
                        if la == 1:
                            a_kind[n_actions] = codes[0]
                            a_ends[n_actions] = -(2**63)
                        else:
                            length = suspend_len if la == 3 else restrict_len
                            a_kind[n_actions] = codes[3] if la == 3 else codes[1]
                            a_ends[n_actions] = t + length
                            if length > 0:
                                b_start[nb] = t
                                b_end[nb] = t + length
                                b_full[nb] = la == 3
                                nb += 1
                        n_actions += 1
                    if v_hold[j]:
                        a_creator[n_actions] = c
                        a_kind[n_actions] = codes[2]
                        a_taken[n_actions] = t
                        a_ends[n_actions] = v_resolved[j]
                        a_viol[n_actions] = j
                        n_actions += 1
                j += 1
            else:
                s = s_start[i]
                ok = True
                for b in range(nb):
                    if b_start[b] <= s < b_end[b] and (b_full[b] or s_u[i] < block_share):
                        ok = False
                        break
                alive[i] = ok
                i += 1
    return n_actions


def _oracle_kernel(
    q_c,
    q_t,
    h,
    s_off,
    s_start,
    s_end,
    s_q,
    q_lam,
    offset,
    onboard,
    adv_from,
    q_adv,
    q_hon,
    half_dur,
    p_off,
    p_start,
    p_end,
    p_factor,
    day0,
    streams,
    hour_w,
    d_lo,
    d_hi,
    out,
):  # pragma: no cover - compiled by numba
    """P(a label event detected in [t, t + h)) for each query (see adversarial_probability)."""
    hour = 3_600_000_000
    day = 24 * hour
    width = d_hi - d_lo
    n_points = 8
    for k in range(len(q_c)):
        c = q_c[k]
        t = q_t[k]
        end = t + h
        # streams held before t: their violations may still be detected in the window
        log_surv = 0.0
        lo = s_off[c]
        hi = s_off[c + 1]
        a = lo
        b = hi
        while a < b:  # first stream starting at or after t
            mid = (a + b) // 2
            if s_start[mid] < t:
                a = mid + 1
            else:
                b = mid
        i = a - 1
        while i >= lo:
            if s_end[i] + d_hi < t:
                if s_start[i] + 2 * day + d_hi < t:  # streams last < 1 day
                    break
                i -= 1
                continue
            f = 0.0
            for j in range(n_points):
                o = s_start[i] + (s_end[i] - s_start[i]) * (j + 0.5) / n_points
                x0 = max(t - o, d_lo)
                x1 = min(end - o, d_hi)
                if x1 > x0:
                    f += (x1 - x0) / width if width > 0 else 1.0
            f /= n_points
            if f > 0:
                log_surv += math.log1p(-min(s_q[i] * f, 1.0))
            i -= 1
        # planned streams from t on, integrated hour by hour
        lam_sum = 0.0
        s = (t // hour) * hour
        while s < end:
            x0 = max(s, t)
            x1 = min(s + hour, end)
            s += hour
            if x1 <= x0:
                continue
            m = 0.5 * (x0 + x1)
            if m < onboard[c]:
                continue
            local = m + offset[c]
            local_day = int(local // day)
            hod = int((local - local_day * day) // hour)
            rate = q_lam[k] * streams[local_day - day0] * hour_w[hod] * (x1 - x0) / hour
            factor = 1.0
            for p in range(p_off[c], p_off[c + 1]):
                if p_start[p] < t and p_start[p] <= m < p_end[p]:
                    factor = min(factor, p_factor[p])
            q = q_adv[c] if m >= adv_from[c] else q_hon
            occ = m + half_dur[c]
            fd = (end - occ - d_lo) / width if width > 0 else (1.0 if end - occ > d_lo else 0.0)
            fd = min(max(fd, 0.0), 1.0)
            lam_sum += rate * factor * q * fd
        out[k] = 1.0 - math.exp(log_surv - lam_sum)
    return 0


_KERNEL_LOCK = threading.Lock()


@functools.cache
def _kernel(name: str) -> Any:
    """A numba-compiled kernel (numba imported lazily; on-disk cache where writable)."""
    import numba

    fn = {"enforce": _enforce_kernel, "oracle": _oracle_kernel}[name]
    with _KERNEL_LOCK:
        try:
            return numba.njit(cache=True)(fn)
        except RuntimeError:  # no writable cache location
            return numba.njit(fn)


# ============================================================================ simulation


@dataclass
class _Creators:
    market: np.ndarray
    category: np.ndarray
    onboard: np.ndarray
    is_business: np.ndarray
    commission: np.ndarray
    quality: np.ndarray
    lam: np.ndarray
    audience: np.ndarray
    minutes: np.ndarray
    aov: np.ndarray
    adv_type: np.ndarray
    adv_from: np.ndarray
    sleeper: np.ndarray
    intensity: np.ndarray
    pattern: np.ndarray
    offset: np.ndarray


def _simulate_creators(cfg: SimulationConfig, rng: np.random.Generator) -> _Creators:
    n = cfg.n_creators
    start = _epoch_day(cfg.start) * _DAY
    market = rng.choice(len(MARKETS), size=n, p=[s for _, s in cfg.market_shares]).astype(np.int8)
    category = rng.choice(len(CATEGORIES), size=n, p=[s for _, s in cfg.category_shares]).astype(
        np.int8
    )
    new = rng.random(n) < cfg.new_creator_share
    joined_before = _uniform_us(rng, n, 30, 730)
    joined_during = _uniform_us(rng, n, 0, cfg.n_days - 1 / 86_400)
    onboard = np.where(new, start + joined_during, start - joined_before)
    quality = rng.standard_normal(n)
    is_adv = rng.random(n) < cfg.adversarial_share
    adv_type = np.where(
        is_adv, 1 + rng.choice(3, size=n, p=[s for _, s in cfg.adversarial_mix]), 0
    ).astype(np.int8)
    quality = quality - 0.3 * is_adv  # adversarial creators are somewhat worse on average
    is_business = rng.random(n) < cfg.business_share
    lam = (cfg.sessions_per_week / 7.0) * np.exp(cfg.activity_spread * rng.standard_normal(n))
    lam = np.clip(lam * np.where(is_business, 1.3, 1.0), 0.005, 3.0)
    audience = (
        math.log(cfg.median_viewers) + cfg.viewer_spread * rng.standard_normal(n) + 0.3 * quality
    )
    minutes = np.clip(90.0 * np.exp(0.35 * rng.standard_normal(n)), 35.0, 220.0)
    aov = _MARKET_AOV[market] * _CATEGORY_AOV[category] * np.exp(0.3 * rng.standard_normal(n))
    sleeper = is_adv & (rng.random(n) < cfg.sleeper_share)
    first_stream = np.maximum(onboard, start)
    lo, hi = cfg.sleeper_days
    turn = first_stream + _uniform_us(rng, n, lo, hi)
    adv_from = np.where(is_adv, np.where(sleeper, turn, onboard), _NAT)
    intensity = np.where(is_adv, rng.uniform(0.5, 1.5, size=n), 0.0)
    pattern_market = MARKETS.index(cfg.pattern_market)
    pattern = (market == pattern_market) & (rng.random(n) < cfg.pattern_creator_share)
    step = rng.choice(np.array([-0.01, 0.0, 0.0, 0.01]), size=n)
    commission = np.round(
        np.clip(_CATEGORY_COMMISSION[category] - 0.005 * is_business + step, 0.01, 0.2), 3
    )
    offsets = np.array([_UTC_OFFSET_HOURS[m] * _HOUR for m in MARKETS], dtype=np.int64)
    return _Creators(
        market=market,
        category=category,
        onboard=onboard,
        is_business=is_business,
        commission=commission,
        quality=quality,
        lam=lam,
        audience=audience,
        minutes=minutes,
        aov=aov,
        adv_type=adv_type,
        adv_from=adv_from,
        sleeper=sleeper,
        intensity=intensity,
        pattern=pattern,
        offset=offsets[market],
    )


def _plan_sessions(
    cfg: SimulationConfig, cr: _Creators, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Planned streams: creator code, start (us), duration (us), local day index; by creator, time."""
    n_days = cfg.n_days
    day0 = _epoch_day(cfg.start)
    start_us = day0 * _DAY
    end_us = start_us + n_days * _DAY
    streams, _ = _day_multipliers(cfg, day0, n_days)
    cum = np.concatenate([[0.0], np.cumsum(streams)])
    first = np.clip((cr.onboard + cr.offset - start_us) // _DAY, 0, n_days).astype(np.int64)
    expected = cr.lam * (cum[n_days] - cum[first])
    counts = rng.poisson(expected)
    c = np.repeat(np.arange(cfg.n_creators, dtype=np.int32), counts)
    n = len(c)
    target = cum[first][c] + rng.random(n) * (cum[n_days] - cum[first])[c]
    day = np.clip(np.searchsorted(cum, target, side="right") - 1, first[c], n_days - 1)
    hour_cum = np.cumsum(_HOUR_WEIGHTS)
    hour = np.minimum(np.searchsorted(hour_cum, rng.random(n), side="right"), 23)
    second = rng.integers(0, 3600, size=n)
    start = start_us + day * _DAY + hour * _HOUR + second * _SEC - cr.offset[c]
    minutes = np.clip(cr.minutes[c] * np.exp(0.3 * rng.standard_normal(n)), 30.0, 240.0)
    duration = np.round(minutes * 60).astype(np.int64) * _SEC
    keep = (start >= cr.onboard[c]) & (start >= start_us)
    c, start, duration = c[keep], start[keep], duration[keep]
    order = np.argsort(
        c.astype(np.int64) * (4 * n_days * 86_400) + (start - start_us) // _SEC, kind="stable"
    )
    c, start, duration = c[order], start[order], duration[order]
    # a creator starts a stream at least 15 minutes after the previous one ends: a planned
    # stream that clashes is pushed back (back-to-back streams), so no stream is lost
    while True:
        earliest = start[:-1] + duration[:-1] + _GAP_BETWEEN_STREAMS
        clash = np.flatnonzero((c[1:] == c[:-1]) & (start[1:] < earliest)) + 1
        if len(clash) == 0:
            break
        start[clash] = earliest[clash - 1]
    keep = start + duration < end_us
    c, start, duration = c[keep], start[keep], duration[keep]
    day = np.minimum((start + cr.offset[c] - start_us) // _DAY, n_days).astype(np.int32)
    return c, start, duration, day


_STREAMS = (
    "creators",
    "plan",
    "signals",
    "adversarial",
    "violations",
    "outcomes",
    "reviews",
    "rewards",
    "pattern",
    "block",
)


def _simulate(cfg: SimulationConfig) -> SimulatedWorld:
    """The pipeline: creators, streams, behaviour, violations, enforcement, tables, truth."""
    seeds = np.random.SeedSequence(cfg.seed).spawn(len(_STREAMS))
    rng = {name: np.random.default_rng(s) for name, s in zip(_STREAMS, seeds, strict=True)}
    start_us = _epoch_day(cfg.start) * _DAY
    end_us = start_us + cfg.n_days * _DAY

    cr = _simulate_creators(cfg, rng["creators"])
    S = _session_behaviour(cfg, cr, rng)
    if len(S["c"]) == 0:
        raise SimulationError(
            f"the world of n_creators={cfg.n_creators} over n_days={cfg.n_days} (seed "
            f"{cfg.seed}) holds no session, and the data contract needs at least one; "
            "simulate more creators or days"
        )
    V = _violation_candidates(cfg, cr, S, rng["violations"])
    pen = _enforce(cfg, S, V, rng["block"])

    # what happened: streams that were not blocked, in chronological order (ties: creator)
    kept = np.flatnonzero(S.pop("alive"))
    key = (S["start"][kept] - start_us) // _SEC * (cfg.n_creators + 1) + S["c"][kept]
    order = kept[np.argsort(key, kind="stable")]
    del kept, key
    new_pos = np.full(len(S["c"]), -1, dtype=np.int64)
    new_pos[order] = np.arange(len(order))
    for name in list(S):
        S[name] = S[name][order]  # one array at a time: the old one is freed at once
    del order
    V["session"] = new_pos[V["session"]]
    del new_pos

    creator_ids = _ids("C", cfg.n_creators, 6)
    sessions, truth_sessions = _session_frames(cfg, cr, S, creator_ids)
    violations, v_new = _violation_frame(cfg, V, creator_ids, sessions["session_id"], end_us)
    outcomes = _outcome_frame(cfg, cr, S, sessions["session_id"], rng["outcomes"], end_us)
    reviews, lq_reviews = _review_frame(cfg, cr, S, sessions["session_id"], rng["reviews"])
    actions = _action_frame(
        cfg, cr, S, V, pen, v_new, lq_reviews, creator_ids, violations["violation_id"], rng
    )
    creators = pd.DataFrame(
        {
            "creator_id": creator_ids,
            "market": _categorical(cr.market, MARKETS),
            "category": _categorical(cr.category, CATEGORIES),
            "onboarded_at": _ts(cr.onboard),
            "is_business": cr.is_business,
            "commission_rate": cr.commission,
        },
        copy=False,
    )
    tables = Tables(
        creators=creators,
        sessions=sessions,
        outcomes=outcomes,
        violations=violations,
        actions=actions,
        reviews=reviews,
    )

    blocking = ((pen["kind"] == _A_SUSPENSION) | (pen["kind"] == _A_RESTRICTION)) & (
        pen["ends"] > pen["taken"]
    )
    penalties = pd.DataFrame(
        {
            "creator_id": _take_ids(creator_ids, pen["creator"][blocking]),
            "started_at": _ts(pen["taken"][blocking]),
            "ends_at": _ts(pen["ends"][blocking]),
            "stream_factor": np.where(
                pen["kind"][blocking] == _A_SUSPENSION, 0.0, 1.0 - cfg.restriction_block_share
            ),
        },
        copy=False,
    )
    label_prob = _adversarial_label_prob(cfg, cr)
    hazard = np.where(
        cr.adv_type > 0,
        cr.lam * cfg.adversarial_violation_rate * cr.intensity * (1 - _SEVERITY_ADVERSARIAL[0]),
        0.0,
    )
    truth_creators = pd.DataFrame(
        {
            "creator_id": creator_ids,
            "market": creators["market"],
            "onboarded_at": creators["onboarded_at"],
            "latent_quality": cr.quality,
            "adversarial_type": _categorical(cr.adv_type, ADVERSARIAL_TYPES),
            "adversarial_from": _ts(cr.adv_from),
            "is_sleeper": cr.sleeper,
            "sessions_per_day": cr.lam,
            "typical_minutes": cr.minutes,
            "daily_hazard": hazard,
            "session_label_prob": label_prob,
        },
        copy=False,
    )
    pattern = InjectedPattern(
        market=cfg.pattern_market,
        started_at=pd.Timestamp(start_us + cfg.pattern_day * _DAY, unit="us", tz="UTC"),
        creator_ids=tuple(creator_ids[cr.pattern].tolist()),
        description=(
            f"viewer bots in {cfg.pattern_market}: affected creators' streams get about "
            f"{cfg.pattern_bot_multiplier:g}x their organic viewers as bots that watch about "
            "two seconds and never like, click or order, so viewers and peak concurrency jump "
            "while average watch time collapses; no label, violation or action describes it"
        ),
        bot_multiplier=cfg.pattern_bot_multiplier,
    )
    truth = GroundTruth(
        sessions=truth_sessions,
        creators=truth_creators,
        penalties=penalties,
        pattern=pattern,
        config=cfg,
    )
    return SimulatedWorld(tables=tables, truth=truth, config=cfg)


def _adversarial_label_prob(cfg: SimulationConfig, cr: _Creators) -> np.ndarray:
    """Per stream while adversarial: P(detected, confirmed, severe violation of its kind)."""
    p = (
        cfg.adversarial_violation_rate
        * cr.intensity
        * (1.0 - _SEVERITY_ADVERSARIAL[0])
        * cfg.detection_rate
        * (1.0 - cfg.appeal_rate * cfg.overturn_rate)
    )
    return np.where(cr.adv_type > 0, np.minimum(p, 1.0), 0.0)


def _honest_label_prob(cfg: SimulationConfig) -> float:
    """Per honest stream: P(a confirmed false positive of an adversarial kind, severe)."""
    return (
        cfg.false_positive_rate
        * _FALSE_POSITIVE_ADVERSARIAL_SHARE
        * (1.0 - _SEVERITY_FALSE_POSITIVE[0])
        * (1.0 - cfg.false_positive_appeal_rate * cfg.false_positive_overturn_rate)
    )


def _session_behaviour(
    cfg: SimulationConfig, cr: _Creators, rng: dict[str, np.random.Generator]
) -> dict[str, np.ndarray]:
    """Planned streams and everything observable or latent about them (candidate order)."""
    f32 = np.float32
    start_us = _epoch_day(cfg.start) * _DAY
    c, start, duration, day = _plan_sessions(cfg, cr, rng["plan"])
    n = len(c)
    _, traffic = _day_multipliers(cfg, _epoch_day(cfg.start), cfg.n_days + 1)
    rs = rng["signals"]

    def normal() -> np.ndarray:
        return rs.standard_normal(n, dtype=f32)

    def noise(sd: float) -> np.ndarray:
        return np.exp(f32(sd) * normal())

    # organic behaviour, driven by the session's hidden effort around the creator's quality
    rho = _EFFORT_FROM_QUALITY
    effort = f32(rho) * cr.quality.astype(f32)[c] + f32(math.sqrt(1 - rho * rho)) * normal()

    def signal(coefs: tuple[float, float, float]) -> np.ndarray:
        base, slope, sd = (f32(v) for v in coefs)
        return base + slope * effort + sd * normal()

    category = cr.category[c]
    static = _sigmoid(_CATEGORY_STATIC.astype(f32)[category] + signal(_STATIC_LOGIT))
    static = np.round(static.astype(np.float64), 4)
    speech = np.round(_sigmoid(signal(_SPEECH_LOGIT)).astype(np.float64), 4)
    log_viewers = cr.audience.astype(f32)[c] + np.log(traffic.astype(f32))[day]
    log_viewers += f32(cfg.session_viewer_spread) * normal() + f32(0.25) * effort
    viewers = np.maximum(1.0, np.floor(np.exp(log_viewers.astype(np.float64))))
    del log_viewers, day
    minutes = (duration / _MIN).astype(f32)
    watch = np.exp(signal(_WATCH_LOG) + f32(0.25) * np.log(minutes / f32(90.0)))
    watch = np.round(np.minimum(watch, minutes * f32(60.0)).astype(np.float64), 1)

    def counts(rate: np.ndarray, viewers: np.ndarray = viewers) -> np.ndarray:
        return rs.poisson(viewers * rate)

    likes = counts(0.4 * np.exp(f32(0.3) * effort) * noise(0.3))
    comments = counts(0.06 * np.exp(f32(0.3) * effort) * noise(0.3))
    shares = counts(0.004 * np.exp(f32(0.3) * effort))
    followers = counts(0.012 * np.exp(f32(0.4) * effort) * noise(0.3))
    reports = counts(_REPORTS_PER_VIEWER * np.exp(f32(-1.1) * effort))
    products = 1 + rs.poisson(_CATEGORY_PRODUCTS[category] * noise(0.3))
    del category
    click_rate = np.minimum(f32(0.07) * np.exp(f32(0.25) * effort) * noise(0.3), f32(0.9))
    conv = np.minimum(f32(0.06) * np.exp(f32(0.2) * effort) * noise(0.3), f32(0.9))
    aov = cr.aov.astype(f32)[c] * noise(0.15)
    peak_share = np.minimum(f32(1.0), watch / (minutes * f32(60.0)) * f32(2.5) * noise(0.3))
    del minutes

    # adversarial behaviour, from adversarial_from on
    ra = rng["adversarial"]
    adv = np.where(start >= cr.adv_from[c], cr.adv_type[c], 0).astype(np.int8)
    fake = np.flatnonzero(adv == 1)
    counterfeit = np.flatnonzero(adv == 2)
    off = np.flatnonzero(adv == 3)
    fake_viewers = np.zeros(n, dtype=np.int64)
    fake_viewers[fake] = np.round(
        viewers[fake] * 2.0 * cr.intensity[c[fake]] * np.exp(0.4 * ra.standard_normal(len(fake)))
    ).astype(np.int64)
    likes[fake] += ra.poisson(fake_viewers[fake] * 1.2)  # bought likes come in bulk
    aov[counterfeit] *= f32(0.45)
    conv[counterfeit] = np.minimum(conv[counterfeit] * f32(1.5), f32(0.9))
    conv[off] *= f32(0.3)
    click_rate[off] = np.minimum(click_rate[off] * f32(1.3), f32(0.9))
    comments[off] = np.round(
        comments[off]
        * (1.5 + 2.0 * cr.intensity[c[off]])
        * np.exp(0.3 * ra.standard_normal(len(off)))
    ).astype(np.int64)
    del fake, counterfeit, off

    # injected viewer bots
    rp = rng["pattern"]
    bots = np.flatnonzero(cr.pattern[c] & (start >= start_us + cfg.pattern_day * _DAY))
    bot_viewers = np.zeros(n, dtype=np.int64)
    bot_viewers[bots] = np.round(
        viewers[bots] * cfg.pattern_bot_multiplier * np.exp(0.3 * rp.standard_normal(len(bots)))
    ).astype(np.int64)
    del bots

    clicks = np.minimum(rs.poisson(viewers * click_rate), viewers.astype(np.int64))
    del click_rate
    orders = np.minimum(rs.poisson(clicks * conv), clicks)
    del conv
    gmv = np.round(orders * aov * noise(0.1), 2)
    total = viewers.astype(np.int64) + fake_viewers + bot_viewers
    inflated = (fake_viewers + bot_viewers) > 0
    observed_watch = np.where(
        inflated,
        np.round((viewers * watch + fake_viewers * 6.0 + bot_viewers * 2.0) / total, 1),
        watch,
    )
    del inflated
    peak = np.round(viewers * peak_share + fake_viewers * 0.6 + bot_viewers * 0.8)
    peak = np.clip(peak, 1, total).astype(np.int64)
    del viewers, fake_viewers, bot_viewers, peak_share, counts

    # the moderator's view (truth): content signals, organic watch time, creator quality
    w_static, w_speech, w_watch, w_quality = _LOW_QUALITY_WEIGHTS
    x = w_static * _logit(np.clip(static, 5e-5, 1 - 5e-5))
    x -= w_speech * _logit(np.clip(speech, 5e-5, 1 - 5e-5))
    x -= w_watch * np.log(watch / 75.0)
    x -= w_quality * cr.quality[c]
    del watch
    x += _solve_intercept(x, cfg.low_quality_rate)
    p_lq = _sigmoid(x)
    del x
    is_lq = rs.random(n) < p_lq
    return {
        "c": c,
        "start": start,
        "end": start + duration,
        "viewers": total,
        "peak": peak,
        "watch": observed_watch,
        "likes": likes,
        "comments": comments,
        "shares": shares,
        "followers": followers,
        "products": products,
        "clicks": clicks,
        "orders": orders,
        "gmv": gmv,
        "reports": reports,
        "static": static,
        "speech": speech,
        "effort": effort,
        "aov": aov,
        "adv": adv,
        "p_lq": p_lq,
        "is_lq": is_lq,
    }


def _violation_candidates(
    cfg: SimulationConfig, cr: _Creators, S: dict[str, np.ndarray], rv: np.random.Generator
) -> dict[str, np.ndarray]:
    """Detected violations of every planned stream (before enforcement blocks any stream)."""
    c, adv, n = S["c"], S["adv"], len(S["c"])
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = []
    # adversarial creators commit violations of their kind
    genuine = np.flatnonzero(adv > 0)
    rate = np.minimum(cfg.adversarial_violation_rate * cr.intensity[c[genuine]], 1.0)
    idx = genuine[rv.random(len(genuine)) < rate]
    kind_of_type = np.array([-1, _TYPE_KIND[1], _TYPE_KIND[2], _TYPE_KIND[3]])
    parts.append(
        (idx, kind_of_type[adv[idx]], _severity(rv, len(idx), _SEVERITY_ADVERSARIAL), False)
    )
    # honest streams get the occasional false positive
    honest = np.flatnonzero(adv == 0)
    idx = honest[rv.random(len(honest)) < cfg.false_positive_rate]
    kinds = np.where(
        rv.random(len(idx)) < _FALSE_POSITIVE_ADVERSARIAL_SHARE,
        np.array(_ADVERSARIAL_KIND_IDX)[rv.integers(0, 3, len(idx))],
        np.array(_MISCONDUCT_KINDS)[rv.integers(0, 3, len(idx))],
    )
    parts.append((idx, kinds, _severity(rv, len(idx), _SEVERITY_FALSE_POSITIVE), True))
    # low-quality streams: low_quality_content
    lq = np.flatnonzero(S["is_lq"])
    idx = lq[rv.random(len(lq)) < cfg.low_quality_violation_rate]
    lq_kind = VIOLATION_KINDS.index("low_quality_content")
    parts.append(
        (idx, np.full(len(idx), lq_kind), _severity(rv, len(idx), _SEVERITY_LOW_QUALITY), False)
    )
    # misconduct, more often from low-quality creators
    u = rv.random(n)
    idx = np.flatnonzero(u < np.minimum(cfg.misconduct_rate * np.exp(-0.7 * cr.quality[c]), 1.0))
    del u
    kinds = np.array(_MISCONDUCT_KINDS)[rv.integers(0, 3, len(idx))]
    parts.append((idx, kinds, _severity(rv, len(idx), _SEVERITY_MISCONDUCT), False))

    sess = np.concatenate([p[0] for p in parts]).astype(np.int64)
    kind = np.concatenate([p[1] for p in parts]).astype(np.int8)
    sev = np.concatenate([p[2] for p in parts]).astype(np.int8)
    fp = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
    found = fp | (rv.random(len(sess)) < cfg.detection_rate)
    sess, kind, sev, fp = sess[found], kind[found], sev[found], fp[found]
    nv = len(sess)
    length_s = (S["end"][sess] - S["start"][sess]) // _SEC
    occurred = S["start"][sess] + (rv.random(nv) * length_s).astype(np.int64) * _SEC
    detected = occurred + _uniform_us(rv, nv, *cfg.detection_delay_days)
    appealed = rv.random(nv) < np.where(fp, cfg.false_positive_appeal_rate, cfg.appeal_rate)
    overturned = appealed & (
        rv.random(nv) < np.where(fp, cfg.false_positive_overturn_rate, cfg.overturn_rate)
    )
    resolved = detected + np.where(
        appealed,
        _uniform_us(rv, nv, *cfg.appeal_resolution_days),
        round(cfg.appeal_window_days * 86_400) * _SEC,
    )
    no_session = (kind != lq_kind) & (rv.random(nv) < _NO_SESSION_SHARE)
    return {
        "session": sess,
        "creator": c[sess].astype(np.int64),
        "kind": kind,
        "severity": sev,
        "points": np.array([HEALTH_POINTS[s] for s in SEVERITIES], dtype=np.int64)[sev],
        "occurred": occurred,
        "detected": detected,
        "appealed": appealed,
        "overturned": overturned,
        "resolved": resolved,
        "no_session": no_session,
    }


def _enforce(
    cfg: SimulationConfig,
    S: dict[str, np.ndarray],
    V: dict[str, np.ndarray],
    rb: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Run the account-health policy per creator; sets ``S["alive"]`` and ``V["alive"]``."""
    n, nv, n_creators = len(S["c"]), len(V["session"]), cfg.n_creators
    order = np.lexsort((V["detected"], V["creator"]))
    s_off = np.searchsorted(S["c"], np.arange(n_creators + 1)).astype(np.int64)
    v_off = np.searchsorted(V["creator"][order], np.arange(n_creators + 1)).astype(np.int64)
    severe = V["severity"] >= 1
    hold = severe & np.isin(V["kind"], _ADVERSARIAL_KIND_IDX)
    alive = np.zeros(n, dtype=np.bool_)
    v_alive = np.zeros(nv, dtype=np.bool_)
    cap = 2 * nv + 1
    out = {
        "creator": np.zeros(cap, dtype=np.int64),
        "kind": np.zeros(cap, dtype=np.int8),
        "taken": np.zeros(cap, dtype=np.int64),
        "ends": np.zeros(cap, dtype=np.int64),
        "violation": np.zeros(cap, dtype=np.int64),
    }

    def us(days: float) -> np.int64:
        return np.int64(round(days * 86_400) * _SEC)

    n_actions = _kernel("enforce")(
        s_off,
        S["start"],
        rb.random(n),
        v_off,
        V["session"][order],
        V["detected"][order],
        V["resolved"][order],
        V["overturned"][order],
        V["points"][order],
        severe[order],
        hold[order],
        us(cfg.points_expiry_days),
        np.int64(cfg.warning_points),
        np.int64(cfg.restriction_points),
        np.int64(cfg.suspension_points),
        us(cfg.restriction_days),
        us(cfg.suspension_days),
        np.float64(cfg.restriction_block_share),
        np.array([_A_WARNING, _A_RESTRICTION, _A_HOLD, _A_SUSPENSION], dtype=np.int8),
        alive,
        v_alive,
        out["creator"],
        out["kind"],
        out["taken"],
        out["ends"],
        out["violation"],
    )
    S["alive"] = alive
    V["alive"] = np.zeros(nv, dtype=np.bool_)
    V["alive"][order] = v_alive
    out = {k: v[:n_actions] for k, v in out.items()}
    out["violation"] = order[out["violation"]]  # back to candidate order
    return out


def _session_frames(
    cfg: SimulationConfig, cr: _Creators, S: dict[str, np.ndarray], creator_ids: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    ns = len(S["c"])
    session_ids = _ids("S", ns, 8)
    started, ended = _ts(S["start"]), _ts(S["end"])
    owner = _take_ids(creator_ids, S["c"].astype(np.int64))
    sessions = pd.DataFrame(
        {
            "session_id": session_ids,
            "creator_id": owner,
            "started_at": started,
            "ended_at": ended,
            "viewers": S["viewers"],
            "peak_concurrent_viewers": S.pop("peak"),
            "avg_watch_seconds": S["watch"],
            "likes": S.pop("likes"),
            "comments": S.pop("comments"),
            "shares": S.pop("shares"),
            "new_followers": S.pop("followers"),
            "products_listed": S.pop("products"),
            "product_clicks": S.pop("clicks"),
            "orders": S["orders"],
            "gmv": S["gmv"],
            "viewer_reports": S["reports"],
            "static_frame_share": S["static"],
            "speech_share": S["speech"],
        },
        copy=False,
    )
    label_prob = _adversarial_label_prob(cfg, cr)
    p_adv = np.where(S["adv"] > 0, label_prob[S["c"]], _honest_label_prob(cfg))
    truth = pd.DataFrame(
        {
            "session_id": session_ids,
            "creator_id": owner,
            "started_at": started,
            "ended_at": ended,
            "p_low_quality": S.pop("p_lq"),
            "is_low_quality": S["is_lq"],
            "p_adversarial_violation": p_adv,
        },
        copy=False,
    )
    return sessions, truth


def _violation_frame(
    cfg: SimulationConfig,
    V: dict[str, np.ndarray],
    creator_ids: pd.Series,
    session_ids: pd.Series,
    end_us: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The violations table (detected before the end, of streams that happened)."""
    keep = np.flatnonzero(V["alive"] & (V["detected"] < end_us))
    keep = keep[np.lexsort((V["session"][keep], V["detected"][keep]))]
    new = np.full(len(V["session"]), -1, dtype=np.int64)
    new[keep] = np.arange(len(keep))
    V["table"] = keep

    def take(name: str) -> np.ndarray:
        return V[name][keep]

    frame = pd.DataFrame(
        {
            "violation_id": _ids("V", len(keep), 7),
            "creator_id": _take_ids(creator_ids, take("creator")),
            "session_id": _take_ids(session_ids, np.where(take("no_session"), -1, take("session"))),
            "kind": _categorical(take("kind"), VIOLATION_KINDS),
            "severity": _categorical(take("severity"), SEVERITIES),
            "health_points": take("points"),
            "occurred_at": _ts(take("occurred")),
            "detected_at": _ts(take("detected")),
            "appealed": take("appealed"),
            "status": _categorical(take("overturned").astype(np.int8), VIOLATION_STATUSES),
            "resolved_at": _ts(take("resolved")),
        },
        copy=False,
    )
    return frame, new


def _outcome_frame(
    cfg: SimulationConfig,
    cr: _Creators,
    S: dict[str, np.ndarray],
    session_ids: pd.Series,
    ro: np.random.Generator,
    end_us: int,
) -> pd.DataFrame:
    """Refunds, complaints and returns: per order, 2-30 days after the stream."""
    sold = np.flatnonzero(S["orders"] > 0)
    quality = np.exp(-0.3 * S["effort"][sold].astype(np.float64))
    quality *= np.where(S["is_lq"][sold], 1.3, 1.0)
    counterfeit = np.where(S["adv"][sold] == 2, 2.0 + 3.0 * cr.intensity[S["c"][sold]], 0.0)
    parts, kinds = [], []
    # per-order base rates of refund, complaint, return, and how much counterfeit adds
    for k, (base, lift) in enumerate(((0.02, 1.0), (0.01, 1.5), (0.025, 0.8))):
        rate = np.minimum(base * quality * (1.0 + counterfeit * lift), 0.9)
        count = ro.binomial(S["orders"][sold], rate)
        parts.append(np.repeat(sold, count))
        kinds.append(np.full(len(parts[-1]), k, dtype=np.int8))
    sess = np.concatenate(parts)
    kind = np.concatenate(kinds)
    no = len(sess)
    when = S["end"][sess] + _uniform_us(ro, no, *cfg.outcome_delay_days)
    amount = np.round(S["aov"][sess] * np.exp(0.3 * ro.standard_normal(no)), 2)
    partial = ro.uniform(0.2, 1.0, no)  # a complaint may concern part of the order
    amount = np.where(kind == 1, np.round(amount * partial, 2), amount)
    keep = np.flatnonzero(when < end_us)
    keep = keep[np.lexsort((sess[keep], when[keep]))]
    return pd.DataFrame(
        {
            "outcome_id": _ids("O", len(keep), 8),
            "session_id": _take_ids(session_ids, sess[keep]),
            "kind": _categorical(kind[keep], OUTCOME_KINDS),
            "occurred_at": _ts(when[keep]),
            "amount": amount[keep],
        },
        copy=False,
    )


def _review_frame(
    cfg: SimulationConfig,
    cr: _Creators,
    S: dict[str, np.ndarray],
    session_ids: pd.Series,
    rr: np.random.Generator,
) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    """Moderator reviews: random audit, viewer reports, per-market daily risk queue."""
    ns = len(S["c"])
    start_us = _epoch_day(cfg.start) * _DAY
    end_us = start_us + cfg.n_days * _DAY
    market = cr.market[S["c"]]
    audit = rr.random(ns) < cfg.random_audit_rate
    reported = rr.random(ns) < -np.expm1(-cfg.report_review_rate * S["reports"])
    # the platform's risk heuristic: a noisy function of observable signals
    static = np.clip(S["static"], 5e-5, 1 - 5e-5)
    speech = np.clip(S["speech"], 5e-5, 1 - 5e-5)
    risk = _logit(static) - 0.8 * _logit(speech)
    del static, speech
    risk += 0.5 * np.log1p(1000.0 * S["reports"] / S["viewers"])
    risk -= 0.4 * np.log(np.maximum(S["watch"], 1.0) / 60.0)
    risk += 0.7 * rr.standard_normal(ns)
    day = (S["end"] - start_us) // _DAY
    per_market = np.bincount(market, minlength=len(MARKETS))
    # capacity of each market-day: the market's share, rounded up or down at random so
    # that a small market still gets its expected share of reviews
    capacity = cfg.risk_queue_share * per_market / cfg.n_days
    u = rr.random((len(MARKETS), cfg.n_days + 1))
    capacity = np.floor(capacity[:, None] + u).astype(np.int64).ravel()
    queue = np.flatnonzero(~reported)
    group = market[queue].astype(np.int64) * (cfg.n_days + 1) + day[queue]
    by_risk = np.lexsort((-risk[queue], group))
    queue, group = queue[by_risk], group[by_risk]
    del risk, day, by_risk
    rank = np.arange(len(queue)) - np.searchsorted(group, group, side="left")
    queued = queue[rank < capacity[group]]
    del queue, group, rank
    picks = (np.flatnonzero(audit), np.flatnonzero(reported), np.sort(queued))
    sess = np.concatenate(picks)
    sample = np.concatenate([np.full(len(p), k, dtype=np.int8) for k, p in enumerate(picks)])
    when = S["end"][sess] + _uniform_us(rr, len(sess), *cfg.review_delay_days)
    # the reason a low-quality stream is low quality: its dominant signal, else content
    other = rr.choice(np.array([2, 3, 4], dtype=np.int8), size=len(sess), p=[0.3, 0.3, 0.4])
    keep = np.flatnonzero(when < end_us)
    keep = keep[np.lexsort((sample[keep], sess[keep], when[keep]))]
    sess, sample, when, other = sess[keep], sample[keep], when[keep], other[keep]
    verdict = S["is_lq"][sess]
    reason = np.where(
        S["static"][sess] > 0.5, 0, np.where(S["speech"][sess] < 0.3, 1, other)
    ).astype(np.int8)
    frame = pd.DataFrame(
        {
            "review_id": _ids("R", len(sess), 7),
            "session_id": _take_ids(session_ids, sess),
            "reviewed_at": _ts(when),
            "is_low_quality": verdict,
            "reason": _categorical(np.where(verdict, reason, -1), REVIEW_REASONS),
            "sample_reason": _categorical(sample, SAMPLE_REASONS),
        },
        copy=False,
    )
    return frame, (S["c"][sess[verdict]].astype(np.int64), when[verdict])


def _action_frame(
    cfg: SimulationConfig,
    cr: _Creators,
    S: dict[str, np.ndarray],
    V: dict[str, np.ndarray],
    pen: dict[str, np.ndarray],
    v_new: np.ndarray,
    lq_reviews: tuple[np.ndarray, np.ndarray],
    creator_ids: pd.Series,
    violation_ids: pd.Series,
    rng: dict[str, np.random.Generator],
) -> pd.DataFrame:
    """Penalties from the policy run, monthly rewards, campaigns, commission changes."""
    rw = rng["rewards"]
    n_creators, n_days = cfg.n_creators, cfg.n_days
    start_us = _epoch_day(cfg.start) * _DAY
    end_us = start_us + n_days * _DAY
    keep = V["table"]
    v_creator, v_det, v_res = V["creator"][keep], V["detected"][keep], V["resolved"][keep]
    v_over, v_points = V["overturned"][keep], V["points"][keep]
    expiry = round(cfg.points_expiry_days * 86_400) * _SEC
    s_c, s_end = S["c"].astype(np.int64), S["end"]
    lq_creator, lq_time = lq_reviews

    def active_points(t: int) -> np.ndarray:
        """Health points active at t, as known at t (detected before, not yet expired or overturned)."""
        live = (v_det < t) & (v_det + expiry > t) & ~(v_over & (v_res <= t))
        return np.bincount(v_creator[live], weights=v_points[live], minlength=n_creators)

    def last_30_days(times: np.ndarray, codes: np.ndarray, t: int, weights=None) -> np.ndarray:
        m = (times >= t - 30 * _DAY) & (times < t)
        w = None if weights is None else weights[m]
        return np.bincount(codes[m], weights=w, minlength=n_creators)

    parts = []  # (creator, kind, taken, ends, value, violation)
    ok = pen["taken"] < end_us
    parts.append(
        (
            pen["creator"][ok],
            pen["kind"][ok],
            pen["taken"][ok],
            pen["ends"][ok],
            np.full(int(ok.sum()), np.nan),
            v_new[pen["violation"][ok]],
        )
    )

    def add(who: np.ndarray, kind: int, taken, ends, value) -> None:
        k = len(who)
        parts.append(
            (
                who,
                np.full(k, kind, dtype=np.int8),
                np.broadcast_to(np.asarray(taken, dtype=np.int64), (k,)),
                np.broadcast_to(np.asarray(ends, dtype=np.int64), (k,)),
                np.broadcast_to(np.asarray(value, dtype=np.float64), (k,)),
                np.full(k, -1, dtype=np.int64),
            )
        )

    # monthly incentive for healthy, good, active creators: 2% of their 30-day GMV
    first_of_month = pd.date_range(
        pd.Timestamp(cfg.start) + pd.offsets.MonthBegin(1), pd.Timestamp(cfg.end), freq="MS"
    )
    for month in first_of_month:
        t = int(month.value // 1000) + 2 * _HOUR
        if t >= end_us:
            continue
        busy = last_30_days(s_end, s_c, t) >= 6
        gmv = last_30_days(s_end, s_c, t, S["gmv"])
        good = busy & (active_points(t) == 0) & (last_30_days(lq_time, lq_creator, t) == 0)
        for m in range(len(MARKETS)):
            peers = busy & (cr.market == m)
            if peers.any():
                good &= ~peers | (gmv >= np.median(gmv[peers]))
        who = np.flatnonzero(good & (rw.random(n_creators) < 0.8))
        add(who, _A_REWARD, t, _NAT, np.round(np.clip(0.02 * gmv[who], 5.0, 2000.0), 2))
    # campaign participation: healthy active creators opt in a week before a mega-sale day
    for month_, day_ in cfg.mega_sale_days:
        for year in range(cfg.start.year, cfg.end.year + 1):
            sale = _epoch_day(dt.date(year, month_, day_)) * _DAY
            t = sale - 7 * _DAY + 3 * _HOUR
            if not start_us <= t < end_us:
                continue
            active = last_30_days(s_end, s_c, t) >= 2
            opt_in = rw.random(n_creators) < np.where(cr.is_business, 0.65, 0.45)
            who = np.flatnonzero(active & (active_points(t) == 0) & opt_in)
            add(who, _A_CAMPAIGN, t, sale + _DAY, np.nan)
    # occasional commission changes: value = the new rate (previous rate + a step)
    n_changes = rw.poisson(n_days / 240.0, size=n_creators)
    who = np.repeat(np.arange(n_creators), n_changes)
    lo = np.maximum(cr.onboard, start_us)[who]
    when = (lo + (rw.random(len(who)) * (end_us - lo)).astype(np.int64)) // _SEC * _SEC
    by_time = np.lexsort((when, who))
    who, when = who[by_time], when[by_time]
    steps = np.cumsum(rw.choice(np.array([-0.01, -0.005, 0.005, 0.01]), size=len(who)))
    first = np.searchsorted(who, who, side="left")
    before = np.where(first > 0, steps[np.maximum(first - 1, 0)], 0.0)
    rate = np.round(np.clip(cr.commission[who] + steps - before, 0.01, 0.25), 3)
    add(who, _A_COMMISSION, when, _NAT, rate)

    creator, kind, taken, ends, value, viol = (
        np.concatenate([np.asarray(p[i]) for p in parts]) for i in range(6)
    )
    order = np.lexsort((kind, creator.astype(np.int64), taken))
    return pd.DataFrame(
        {
            "action_id": _ids("A", len(order), 7),
            "creator_id": _take_ids(creator_ids, creator[order].astype(np.int64)),
            "kind": _categorical(kind[order], ACTION_KINDS),
            "taken_at": _ts(taken[order]),
            "ends_at": _ts(ends[order]),
            "value": value[order].astype(np.float64),
            "violation_id": _take_ids(violation_ids, viol[order].astype(np.int64)),
        },
        copy=False,
    )


def _solve_intercept(x: np.ndarray, target: float) -> float:
    """The ``b`` with ``mean(sigmoid(b + x)) == target`` (bisection on a fixed subsample)."""
    step = max(1, len(x) // 500_000)
    sample = x[::step]
    if len(sample) == 0:
        return float(_logit(np.array(target)))
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _sigmoid(mid + sample).mean() < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ============================================================================ public API


def simulate(config: SimulationConfig | None = None, **overrides: Any) -> SimulatedWorld:
    """Simulate a live-shopping marketplace: six contract tables plus the ground truth.

    Parameters
    ----------
    config : SimulationConfig, optional
        The parameters; defaults to ``SimulationConfig()`` (2,000 creators x 120 days).
    **overrides
        Fields of :class:`SimulationConfig` to change, e.g.
        ``simulate(n_creators=500, n_days=60, seed=1)``.

    Returns
    -------
    SimulatedWorld
        ``tables`` (normalised contract dtypes), ``truth`` and ``config``.

    Raises
    ------
    SimulationError
        An override names no parameter, a parameter is out of range, or the world is so
        small that it holds no session.

    Examples
    --------
    >>> import govml
    >>> world = govml.simulate(n_creators=100, n_days=14, seed=1)
    >>> world.tables.creators.shape
    (100, 6)
    >>> bool(world.truth.sessions["session_id"].equals(world.tables.sessions["session_id"]))
    True
    """
    if config is None:
        config = SimulationConfig()
    elif not isinstance(config, SimulationConfig):
        raise SimulationError(
            f"config must be a SimulationConfig, got {type(config).__name__}; pass "
            "parameters as keywords, e.g. simulate(n_creators=500)"
        )
    if overrides:
        names = [f.name for f in dataclasses.fields(SimulationConfig)]
        unknown = [k for k in overrides if k not in names]
        if unknown:
            hints = {k: _suggest(k, names) for k in unknown}
            said = ", ".join(
                f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for k, h in hints.items()
            )
            raise SimulationError(
                f"unknown simulation parameter(s) {said}; see SimulationConfig for the "
                f"parameters: {', '.join(names)}"
            )
        config = dataclasses.replace(config, **overrides)
    return _simulate(config)


_TRUTH_FILES = ("sessions", "creators", "penalties")


def write_world(
    world: SimulatedWorld, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write a world as parquet: ``<table>.parquet`` for the six tables, the truth in ``truth/``.

    The tables are written with :func:`govml.schema.save_tables`; ``truth/`` holds
    ``sessions.parquet``, ``creators.parquet``, ``penalties.parquet`` and ``world.json``
    (the parameters and the injected pattern; :func:`read_truth` loads it all back).
    Every file is written under a temporary name and renamed, so a reader never sees half
    a file.

    Parameters
    ----------
    world : SimulatedWorld
    path : path-like
        Output folder (created if missing).
    overwrite : bool, default False
        Replace the files of an earlier world in ``path``. Without it, a folder that
        already holds any of these files is refused before anything is written.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    DataLoadError
        ``path`` already holds a world and ``overwrite`` is False, or ``path`` is a file
        (the same error :func:`govml.schema.save_tables` raises for its tables).

    Examples
    --------
    >>> import govml, tempfile
    >>> world = govml.simulate(n_creators=30, n_days=7, seed=0)
    >>> out = govml.write_world(world, tempfile.mkdtemp() + "/world")
    >>> sorted(p.name for p in out.iterdir())[:3]
    ['actions.parquet', 'creators.parquet', 'outcomes.parquet']
    """
    from govml.schema import save_tables

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise DataLoadError(f"{out} is a file; write_world needs a folder to write the world into")
    truth_dir = out / "truth"
    targets = [out / f"{name}.parquet" for name in TABLE_NAMES]
    targets += [truth_dir / f"{name}.parquet" for name in _TRUTH_FILES]
    targets.append(truth_dir / "world.json")
    existing = [p for p in targets if p.exists()]
    if existing and not overwrite:
        raise DataLoadError(
            f"{out} already holds a world ({existing[0].relative_to(out)} and "
            f"{len(existing) - 1} more file(s)); pass overwrite=True (CLI: --overwrite) to "
            "replace it, or pick another folder"
        )
    save_tables(world.tables, out, overwrite=overwrite)
    truth_dir.mkdir(parents=True, exist_ok=True)
    for name in _TRUTH_FILES:
        target = truth_dir / f"{name}.parquet"
        tmp = target.with_name(f".{target.name}.tmp")
        getattr(world.truth, name).to_parquet(tmp, index=False)
        os.replace(tmp, target)
    meta = {
        "format_version": _FORMAT_VERSION,
        "config": world.config.to_dict(),
        "pattern": world.truth.pattern.to_dict(),
    }
    target = truth_dir / "world.json"
    tmp = target.with_name(".world.json.tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return out


def read_truth(path: str | os.PathLike[str]) -> GroundTruth:
    """Load the ground truth written by :func:`write_world`.

    Parameters
    ----------
    path : path-like
        The world folder (holding ``truth/``) or the ``truth`` folder itself.

    Returns
    -------
    GroundTruth
        Equal to the written one; the oracle methods give the same results.

    Raises
    ------
    DataLoadError
        The folder holds no ground truth, or it was written by another format version.

    Examples
    --------
    >>> import govml, tempfile
    >>> world = govml.simulate(n_creators=30, n_days=7, seed=0)
    >>> out = govml.write_world(world, tempfile.mkdtemp() + "/world")
    >>> truth = govml.read_truth(out)
    >>> truth.config == world.config, len(truth.sessions) == len(world.truth.sessions)
    (True, True)
    """
    base = Path(path)
    folder = base / "truth" if (base / "truth" / "world.json").exists() else base
    meta_path = folder / "world.json"
    missing = [
        p.name
        for p in [meta_path, *(folder / f"{n}.parquet" for n in _TRUTH_FILES)]
        if not p.exists()
    ]
    if missing:
        raise DataLoadError(
            f"no simulator ground truth at {base}: missing {', '.join(missing)} in {folder}; "
            "pass the folder written by govml.write_world (or `govml simulate --out`)"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format_version") != _FORMAT_VERSION:
        raise DataLoadError(
            f"{meta_path} has format_version {meta.get('format_version')!r}, this govml reads "
            f"version {_FORMAT_VERSION}; simulate the world again with this version"
        )
    config = SimulationConfig(**meta["config"])
    frames = {n: pd.read_parquet(folder / f"{n}.parquet") for n in _TRUTH_FILES}
    return GroundTruth(
        sessions=frames["sessions"],
        creators=frames["creators"],
        penalties=frames["penalties"],
        pattern=InjectedPattern.from_dict(meta["pattern"]),
        config=config,
    )
