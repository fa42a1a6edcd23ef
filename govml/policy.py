"""Governance policy: account health, tiers, the review queue and a point-in-time backtest.

A :class:`Policy` is a versioned YAML file (``experiments/policy_*.yaml``) that turns
model scores and enforcement history into decisions:

* **account health** — points per violation kind and severity, active for ``expiry``
  after detection (:func:`health_points`);
* **tiers** — ordered from the most to the least severe; each tier has rules on health
  points, model risk (the calibrated probability) and exposure (e.g. trailing 30-day
  GMV). The first tier with a matching rule wins; the one tier without rules is the
  default. A tier may carry an action (a penalty or a reward, from the contract's
  action kinds) taken when a creator enters it (:func:`assign_tiers`);
* **hysteresis** — escalation is immediate; moving to a less severe tier needs the
  creator to have spent ``cooldown_days`` in its tier and to have qualified for a
  lighter tier on ``confirm_days`` consecutive evaluations, so creators do not flip
  tiers daily;
* **review queue** — each day, per market, the top ``capacity`` creators by expected
  harm = risk × exposure (:func:`review_queue`).

:func:`backtest` replays one or more policies day by day over history, using only what
was known each day, and measures them per market and week (:class:`BacktestResult`).

The health-point rule
---------------------
A violation counts only once it is known: from ``detected_at``. With
``count_pending: true`` (default) it counts from detection while its appeal is open
(the contract treats a violation as confirmed until ``resolved_at``) and stops counting
at ``resolved_at`` if it was overturned (the overturn is known only then). With
``count_pending: false`` only confirmed violations count, from ``resolved_at`` (when the
status became final). Either way points stop at ``detected_at + expiry``. Points come
from the policy (``health.points`` by severity, ``health.by_kind`` overrides), not from
the table's ``health_points`` column, so two policies can weigh violations differently.
This is the rule ``govml.features`` uses for ``points_active``.

Policy file
-----------
.. code-block:: yaml

    name: baseline                 # required
    version: 1                     # required
    description: free text
    health:
      expiry: 90D                  # points stay active this long after detection
      count_pending: true          # count violations whose appeal is still open
      points: {minor: 1, major: 4, critical: 12}
      by_kind:                     # optional: kind -> severity -> points
        counterfeit: {major: 6}
    tiers:                         # most severe first
      - name: restrict
        action: {kind: live_restriction, duration: 7D}
        when:                      # any rule matches; all bounds of a rule must hold
          - {name: many_points, min_points: 12}
          - {min_points: 4, min_risk: 0.5}
      - name: review
        when: [{min_risk: 0.2}]
      - name: healthy              # no rules: the default tier
      - name: reward_eligible
        action: {kind: incentive_reward, every: 30D, value_share: 0.02}
        when: [{max_points: 0, max_risk: 0.01, min_exposure: 200}]
    hysteresis: {cooldown_days: 7, confirm_days: 3}
    review_queue:
      capacity: {default: 5, ID: 10}   # creators per market per day
      exposure: sess_gmv_sum_30d       # feature column multiplied with the risk
      tiers: [restrict, review]        # who may be queued (default: every tier)
      recheck_days: 14                 # a queued creator is not queued again for 14 days
      min_risk: 0.0

Rule bounds are inclusive: ``min_x`` means ``x >= value``, ``max_x`` means ``x <= value``.
An action's ``duration`` sets ``ends_at``; ``every`` repeats it while the creator stays
in the tier (else it is taken only on entering); ``value_share`` makes the action's
value ``value_share × exposure`` (an incentive reward as a share of trailing GMV).

Examples
--------
>>> from govml.policy import Policy
>>> policy = Policy.from_dict({
...     "name": "demo", "version": 1,
...     "tiers": [{"name": "restrict", "when": [{"min_points": 12}],
...                "action": {"kind": "live_restriction", "duration": "7D"}},
...               {"name": "healthy"}]})
>>> policy.label, policy.tier_names, policy.default_tier
('demo@1', ('restrict', 'healthy'), 'healthy')
>>> policy.points_for("counterfeit", "critical")
12.0
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from govml._exceptions import ConfigError, LabelError, PolicyError
from govml._time import to_utc
from govml.schema import ACTION_KINDS, MARKETS, SEVERITIES, VIOLATION_KINDS

if TYPE_CHECKING:
    from govml.model import GovmlModel
    from govml.schema import Tables
    from govml.simulation import GroundTruth

__all__ = [
    "PENALTY_KINDS",
    "REWARD_KINDS",
    "WEEKLY_COLUMNS",
    "Rule",
    "TierAction",
    "Tier",
    "HealthPoints",
    "Hysteresis",
    "ReviewQueueConfig",
    "Policy",
    "load_policy",
    "health_points",
    "assign_tiers",
    "review_queue",
    "BacktestResult",
    "backtest",
]

#: Action kinds that penalise a creator (a tier with one of these is a penalty tier).
PENALTY_KINDS: tuple[str, ...] = ("warning", "live_restriction", "commission_hold", "suspension")
#: Action kinds that reward a creator.
REWARD_KINDS: tuple[str, ...] = ("incentive_reward", "campaign_participation")

_DEFAULT_POINTS = {"minor": 1.0, "major": 4.0, "critical": 12.0}
_DEFAULT_EXPOSURE = "sess_gmv_sum_30d"
_DAY = pd.Timedelta(days=1)


# =========================================================================== the policy


def _fail(where: str, message: str) -> PolicyError:
    return PolicyError(f"policy {where}: {message}")


def _duration(value: Any, where: str, field_: str, *, allow_zero: bool = False) -> pd.Timedelta:
    """Parse a duration with the experiment config's rule, as a PolicyError naming the field."""
    from govml.training.config import _duration as check

    try:
        check(value, field_, allow_zero=allow_zero)
    except ConfigError as error:
        raise _fail(where, str(error)) from None
    return pd.Timedelta(value)


def _number(value: Any, where: str, field_: str, *, lo: float = 0.0, hi: float | None = None):
    ok = isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
    if ok and value >= lo and (hi is None or value <= hi):
        return float(value)
    bounds = f"in [{lo:g}, {hi:g}]" if hi is not None else f">= {lo:g}"
    what = "a probability " if hi == 1.0 else "a number "
    raise _fail(where, f"{field_}={value!r} must be {what}{bounds}")


def _whole(value: Any, where: str, field_: str, *, lo: int = 0) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= lo:
        return int(value)
    raise _fail(where, f"{field_}={value!r} must be a whole number >= {lo}")


def _mapping(value: Any, where: str, field_: str, known: Iterable[str] | None) -> dict:
    if not isinstance(value, Mapping):
        raise _fail(
            where,
            f"{field_} must be a mapping of fields (YAML 'key: value' lines), got "
            f"{type(value).__name__}",
        )
    if known is not None:
        known = sorted(known)
        unknown = sorted(str(k) for k in value if k not in known)
        if unknown:
            prefix = f"{field_}." if field_ else ""
            raise _fail(
                where,
                f"unknown field(s) {[prefix + k for k in unknown]}; known fields are {known}",
            )
    return dict(value)


def _capacity(value: Any, where: str, field_: str) -> Mapping[str, int]:
    if isinstance(value, Mapping):
        bad = sorted(str(k) for k in value if k not in (*MARKETS, "default"))
        if bad:
            raise _fail(
                where,
                f"{field_} names {bad}, which are not markets; use market codes "
                f"{list(MARKETS)} or 'default'",
            )
        out = {str(k): _whole(v, where, f"{field_}.{k}") for k, v in value.items()}
        out.setdefault("default", 0)
        return out
    return {"default": _whole(value, where, field_)}


def _risk_cut(
    value: float | str | None, thresholds: Mapping[str, float] | None, rule: str
) -> float | None:
    if value is None or not isinstance(value, str):
        return value
    cuts = dict(thresholds or {})
    if value not in cuts:
        raise PolicyError(
            f"rule {rule!r} bounds the risk by the model threshold {value!r}, but the "
            f"model's thresholds are {cuts or 'none'}; use a number or one of those names"
        )
    return float(cuts[value])


@dataclass(frozen=True)
class Rule:
    """One rule of a tier: every given bound must hold (bounds are inclusive).

    Attributes
    ----------
    name : str
        Shown as the rule that fired (default ``<tier>.<position>``).
    min_points, max_points : float or None
        Bounds on active health points.
    min_risk, max_risk : float, str or None
        Bounds on the model's calibrated probability: a number, or the name of one of
        the model's tier thresholds (``review`` means the model's ``review`` cut), so
        a policy can follow a retrained model's calibration.
    min_exposure, max_exposure : float or None
        Bounds on the exposure (the review queue's exposure column, e.g. 30-day GMV).

    Examples
    --------
    Rules usually come from a policy file (``policy.tiers[i].rules``); one by hand:

    >>> import numpy as np
    >>> from govml.policy import Rule
    >>> rule = Rule("points_and_risk", min_points=4, min_risk=0.5)
    >>> rule.describe()
    'points >= 4 and risk >= 0.5'
    >>> points, risk = np.array([0.0, 4.0, 12.0]), np.array([0.9, 0.6, 0.1])
    >>> rule.matches(points, risk, np.full(3, np.nan)).tolist()
    [False, True, False]
    """

    name: str
    min_points: float | None = None
    max_points: float | None = None
    min_risk: float | str | None = None
    max_risk: float | str | None = None
    min_exposure: float | None = None
    max_exposure: float | None = None

    def matches(
        self,
        points: np.ndarray,
        risk: np.ndarray,
        exposure: np.ndarray,
        *,
        thresholds: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """Boolean mask of the rows the rule matches (NaN values match no bound).

        ``thresholds`` (the model's tier cuts) resolve risk bounds given by name.

        Examples
        --------
        >>> import numpy as np
        >>> from govml.policy import Rule
        >>> rule = Rule("model_review", min_risk="review", max_exposure=100)
        >>> rule.matches(np.zeros(3), np.array([0.1, 0.4, 0.4]),
        ...              np.array([50.0, 50.0, np.nan]), thresholds={"review": 0.3}).tolist()
        [False, True, False]
        """
        hit = np.ones(len(points), dtype=bool)
        risk_lo = _risk_cut(self.min_risk, thresholds, self.name)
        risk_hi = _risk_cut(self.max_risk, thresholds, self.name)
        for values, lo, hi in (
            (points, self.min_points, self.max_points),
            (risk, risk_lo, risk_hi),
            (exposure, self.min_exposure, self.max_exposure),
        ):
            if lo is not None:
                hit &= values >= lo
            if hi is not None:
                hit &= values <= hi
        return hit

    def describe(self) -> str:
        """The bounds as text, e.g. ``points >= 12 and risk >= 0.5``.

        Examples
        --------
        >>> from govml.policy import Rule
        >>> Rule("clean_seller", max_points=0, max_risk="watch", min_exposure=100).describe()
        'points <= 0 and risk <= watch and exposure >= 100'
        """
        parts = []
        for what in ("points", "risk", "exposure"):
            lo, hi = getattr(self, f"min_{what}"), getattr(self, f"max_{what}")
            if lo is not None:
                parts.append(f"{what} >= {lo if isinstance(lo, str) else format(lo, 'g')}")
            if hi is not None:
                parts.append(f"{what} <= {hi if isinstance(hi, str) else format(hi, 'g')}")
        return " and ".join(parts)


@dataclass(frozen=True)
class TierAction:
    """The action a tier takes: ``kind`` (an action kind of the contract) on entering.

    Attributes
    ----------
    kind : str
        One of :data:`govml.schema.ACTION_KINDS`.
    duration : Timedelta or None
        Length of a time-limited action (sets ``ends_at``).
    every : Timedelta or None
        Repeat the action this often while the creator stays in the tier.
    value_share : float or None
        The action's value is ``value_share × exposure`` (e.g. a reward as a share of
        trailing GMV).

    Examples
    --------
    A policy file's ``action: {kind: live_restriction, duration: 7D}`` becomes:

    >>> from govml.policy import Policy
    >>> policy = Policy.from_dict({"name": "p", "version": 1, "tiers": [
    ...     {"name": "restrict", "when": [{"min_points": 12}],
    ...      "action": {"kind": "live_restriction", "duration": "7D"}},
    ...     {"name": "healthy"}]})
    >>> action = policy.tiers[0].action
    >>> action.kind, action.duration, action.every
    ('live_restriction', Timedelta('7 days 00:00:00'), None)
    >>> action.is_penalty, action.is_reward
    (True, False)
    """

    kind: str
    duration: pd.Timedelta | None = None
    every: pd.Timedelta | None = None
    value_share: float | None = None

    @property
    def is_penalty(self) -> bool:
        """The kind is one of :data:`PENALTY_KINDS` (its tier is a penalty tier).

        Examples
        --------
        >>> from govml.policy import TierAction
        >>> TierAction("suspension").is_penalty, TierAction("incentive_reward").is_penalty
        (True, False)
        """
        return self.kind in PENALTY_KINDS

    @property
    def is_reward(self) -> bool:
        """The kind is one of :data:`REWARD_KINDS` (counted as ``rewarded`` in backtests).

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.policy import TierAction
        >>> TierAction("incentive_reward", every=pd.Timedelta(days=30), value_share=0.02).is_reward
        True
        """
        return self.kind in REWARD_KINDS


@dataclass(frozen=True)
class Tier:
    """A tier: its name, rules (empty for the default tier) and optional action.

    Examples
    --------
    >>> from govml.policy import Rule, Tier, TierAction
    >>> restrict = Tier("restrict", rules=(Rule("many_points", min_points=12),),
    ...                 action=TierAction("live_restriction"))
    >>> restrict.is_default, restrict.is_penalty, Tier("healthy").is_default
    (False, True, True)
    """

    name: str
    rules: tuple[Rule, ...] = ()
    action: TierAction | None = None

    @property
    def is_default(self) -> bool:
        """The tier has no rules: creators no other tier matches land here.

        Examples
        --------
        >>> from govml.policy import Rule, Tier
        >>> Tier("healthy").is_default, Tier("review", (Rule("r", min_risk=0.2),)).is_default
        (True, False)
        """
        return not self.rules

    @property
    def is_penalty(self) -> bool:
        """The tier's action is a penalty (:attr:`TierAction.is_penalty`).

        Examples
        --------
        >>> from govml.policy import Rule, Tier, TierAction
        >>> warn = Tier("warn", (Rule("points_4", min_points=4),), TierAction("warning"))
        >>> warn.is_penalty, Tier("healthy").is_penalty
        (True, False)
        """
        return self.action is not None and self.action.is_penalty


@dataclass(frozen=True)
class HealthPoints:
    """Account-health points: per kind and severity, with expiry (see the module docstring).

    Attributes
    ----------
    points : mapping of str to mapping of str to float
        ``points[kind][severity]``, for every violation kind and severity (the
        ``health.points`` defaults with the ``health.by_kind`` overrides folded in).
    expiry : Timedelta
        Points stop counting this long after detection.
    count_pending : bool
        Count a violation from detection while its appeal is open (else only once
        confirmed, from ``resolved_at``).

    Examples
    --------
    >>> from govml.policy import Policy
    >>> policy = Policy.from_dict({"name": "p", "version": 1,
    ...     "health": {"expiry": "30D", "points": {"major": 5},
    ...                "by_kind": {"counterfeit": {"major": 8}}},
    ...     "tiers": [{"name": "bad", "when": [{"min_points": 5}]}, {"name": "ok"}]})
    >>> policy.health.expiry, policy.health.count_pending
    (Timedelta('30 days 00:00:00'), True)
    >>> dict(policy.health.points["counterfeit"]), policy.health.points["fake_engagement"]["major"]
    ({'minor': 1.0, 'major': 8.0, 'critical': 12.0}, 5.0)
    """

    points: Mapping[str, Mapping[str, float]]
    expiry: pd.Timedelta = pd.Timedelta(days=90)
    count_pending: bool = True


@dataclass(frozen=True)
class Hysteresis:
    """Escalate at once; de-escalate after ``cooldown_days`` in the tier and
    ``confirm_days`` consecutive evaluations that qualify for a lighter tier.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.policy import Policy, assign_tiers
    >>> policy = Policy.from_dict({"name": "p", "version": 1,
    ...     "tiers": [{"name": "watch", "when": [{"min_risk": 0.5}]}, {"name": "ok"}],
    ...     "hysteresis": {"confirm_days": 2}})
    >>> policy.hysteresis
    Hysteresis(cooldown_days=0, confirm_days=2)
    >>> frame = pd.DataFrame({"creator_id": "a", "points": 0.0, "probability": [0.9, 0.1, 0.1],
    ...     "snapshot_at": pd.date_range("2026-01-01", periods=3, freq="D", tz="UTC")})
    >>> assign_tiers(frame, policy)["tier"].tolist()  # leaves 'watch' on the 2nd clean day
    ['watch', 'watch', 'ok']
    """

    cooldown_days: int = 0
    confirm_days: int = 1


@dataclass(frozen=True)
class ReviewQueueConfig:
    """Daily moderator capacity per market and how the queue ranks creators.

    Attributes
    ----------
    capacity : mapping of str to int
        Creators reviewed per market per day (``"default"`` for unlisted markets).
    exposure : str
        Creator feature multiplied with the risk (expected harm).
    tiers : tuple of str
        Tiers whose creators may be queued (empty: every tier).
    recheck_days : int
        A queued creator is not queued again for this many days.
    min_risk : float
        Creators below this risk are never queued.

    Examples
    --------
    >>> from govml.policy import Policy
    >>> policy = Policy.from_dict({"name": "p", "version": 1,
    ...     "tiers": [{"name": "review", "when": [{"min_risk": 0.2}]}, {"name": "ok"}],
    ...     "review_queue": {"capacity": {"ID": 10, "default": 2}, "tiers": ["review"]}})
    >>> queue = policy.review_queue
    >>> queue.capacity_of("ID"), queue.capacity_of("VN"), queue.exposure, queue.tiers
    (10, 2, 'sess_gmv_sum_30d', ('review',))
    """

    capacity: Mapping[str, int] = field(default_factory=lambda: {"default": 0})
    exposure: str = _DEFAULT_EXPOSURE
    tiers: tuple[str, ...] = ()
    recheck_days: int = 0
    min_risk: float = 0.0

    def capacity_of(self, market: str) -> int:
        """Creators that market's moderators review per day.

        Examples
        --------
        >>> from govml.policy import ReviewQueueConfig
        >>> queue = ReviewQueueConfig(capacity={"ID": 6, "default": 1})
        >>> queue.capacity_of("ID"), queue.capacity_of("SG")
        (6, 1)
        """
        return int(self.capacity.get(str(market), self.capacity.get("default", 0)))


_TOP = ("name", "version", "description", "health", "tiers", "hysteresis", "review_queue")
_RULE_BOUNDS = (
    "min_points",
    "max_points",
    "min_risk",
    "max_risk",
    "min_exposure",
    "max_exposure",
)


@dataclass(frozen=True)
class Policy:
    """A validated governance policy. Build one with :func:`load_policy` or :meth:`from_dict`.

    Attributes
    ----------
    name, version : str
        Identify the policy; ``label`` is ``name@version``.
    description : str
    health : HealthPoints
    tiers : tuple of Tier
        Most severe first; exactly one has no rules (the default).
    hysteresis : Hysteresis
    review_queue : ReviewQueueConfig
    source : str or None
        The file it was read from.

    Examples
    --------
    >>> from govml.policy import Policy
    >>> policy = Policy.from_dict({"name": "baseline", "version": 1,
    ...     "tiers": [{"name": "suspend", "when": [{"min_points": 12}], "action": "suspension"},
    ...               {"name": "review", "when": [{"min_risk": 0.3, "min_exposure": 100}]},
    ...               {"name": "healthy"}],
    ...     "hysteresis": {"cooldown_days": 7}, "review_queue": {"capacity": 5}})
    >>> policy.label, policy.tier_names, policy.penalty_tiers
    ('baseline@1', ('suspend', 'review', 'healthy'), ('suspend',))
    >>> [rule.describe() for tier in policy.tiers for rule in tier.rules]
    ['points >= 12', 'risk >= 0.3 and exposure >= 100']
    >>> policy.hysteresis.cooldown_days, policy.review_queue.capacity_of("ID")
    (7, 5)
    """

    name: str
    version: str
    description: str
    health: HealthPoints
    tiers: tuple[Tier, ...]
    hysteresis: Hysteresis
    review_queue: ReviewQueueConfig
    source: str | None = None

    @property
    def label(self) -> str:
        """``name@version``: how the policy is named in backtest tables.

        Examples
        --------
        >>> from govml.policy import Policy
        >>> Policy.from_dict({"name": "strict", "version": "2.1",
        ...     "tiers": [{"name": "bad", "when": [{"min_points": 4}]}, {"name": "ok"}]}).label
        'strict@2.1'
        """
        return f"{self.name}@{self.version}"

    @property
    def tier_names(self) -> tuple[str, ...]:
        """Tier names, most severe first (the order rules are tried in).

        Examples
        --------
        >>> from govml.policy import Policy
        >>> Policy.from_dict({"name": "p", "version": 1, "tiers": [
        ...     {"name": "restrict", "when": [{"min_points": 8}]},
        ...     {"name": "warn", "when": [{"min_points": 4}]}, {"name": "ok"}]}).tier_names
        ('restrict', 'warn', 'ok')
        """
        return tuple(t.name for t in self.tiers)

    @property
    def default_tier(self) -> str:
        """The tier without rules: where creators no rule matches land.

        It need not be the last tier: the rules of every other tier (a reward tier
        listed after it included) are tried first, in order.

        Examples
        --------
        >>> from govml.policy import Policy
        >>> Policy.from_dict({"name": "p", "version": 1, "tiers": [
        ...     {"name": "warn", "when": [{"min_points": 4}]}, {"name": "healthy"},
        ...     {"name": "reward", "when": [{"max_risk": 0.01}]}]}).default_tier
        'healthy'
        """
        return next(t.name for t in self.tiers if t.is_default)

    @property
    def penalty_tiers(self) -> tuple[str, ...]:
        """Tiers whose action is a penalty (:data:`PENALTY_KINDS`).

        Examples
        --------
        >>> from govml.policy import Policy
        >>> Policy.from_dict({"name": "p", "version": 1, "tiers": [
        ...     {"name": "warn", "when": [{"min_points": 4}], "action": "warning"},
        ...     {"name": "review", "when": [{"min_risk": 0.2}]}, {"name": "healthy"},
        ...     {"name": "reward", "when": [{"max_risk": 0.01}], "action": "incentive_reward"}],
        ... }).penalty_tiers
        ('warn',)
        """
        return tuple(t.name for t in self.tiers if t.is_penalty)

    def points_for(self, kind: str, severity: str) -> float:
        """Health points of one violation of ``kind`` and ``severity``.

        Examples
        --------
        >>> from govml.policy import Policy
        >>> policy = Policy.from_dict({"name": "p", "version": 1,
        ...     "health": {"points": {"major": 5}, "by_kind": {"counterfeit": {"major": 8}}},
        ...     "tiers": [{"name": "bad", "when": [{"min_points": 5}]}, {"name": "ok"}]})
        >>> policy.points_for("counterfeit", "major")  # health.by_kind
        8.0
        >>> policy.points_for("misleading_claim", "major")  # health.points
        5.0
        """
        return float(self.health.points[kind][severity])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> Policy:
        """Validate a policy given as plain data (what the YAML file holds).

        Parameters
        ----------
        data : mapping
            The fields of a policy file (see the module docstring).
        source : str, optional
            Where the data came from (named in error messages, kept as ``source``).

        Returns
        -------
        Policy

        Raises
        ------
        PolicyError
            Naming the field, the value and what is allowed.

        Examples
        --------
        >>> from govml.policy import Policy
        >>> policy = Policy.from_dict({"name": "p", "version": 1,
        ...     "tiers": [{"name": "restrict", "when": [{"min_points": 8}],
        ...                "action": {"kind": "live_restriction", "duration": "7D"}},
        ...               {"name": "healthy"}]})
        >>> rule = policy.tiers[0].rules[0]
        >>> rule.name, rule.min_points, policy.tiers[0].action.duration.days
        ('restrict.1', 8.0, 7)

        Invalid fields are named, with what is allowed:

        >>> Policy.from_dict({"name": "p", "version": 1,
        ...                   "tiers": [{"name": "a", "when": [{"min_risk": 2}]},
        ...                             {"name": "b"}]})
        Traceback (most recent call last):
        ...
        govml._exceptions.PolicyError: policy p: tiers[0].when[0].min_risk=2 must be a probability in [0, 1]
        """
        where = source or "policy"
        data = _mapping(data, where, "", _TOP)
        for key in ("name", "version", "tiers"):
            if key not in data:
                raise _fail(where, f"'{key}' is required (fields: {list(_TOP)})")
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or "@" in name:
            raise _fail(where, f"name={name!r} must be a non-empty text without '@'")
        if source is None:
            where = name
        version = data["version"]
        if isinstance(version, bool) or not isinstance(version, str | int | float):
            raise _fail(where, f"version={version!r} must be a text or number, e.g. 1 or '2.1'")
        version = str(version)
        description = data.get("description") or ""
        if not isinstance(description, str):
            raise _fail(where, "description must be text")
        health = _health(data.get("health") or {}, where)
        tiers = _tiers(data["tiers"], where)
        hyst = _mapping(
            data.get("hysteresis") or {}, where, "hysteresis", Hysteresis.__annotations__
        )
        hysteresis = Hysteresis(
            cooldown_days=_whole(hyst.get("cooldown_days", 0), where, "hysteresis.cooldown_days"),
            confirm_days=_whole(
                hyst.get("confirm_days", 1), where, "hysteresis.confirm_days", lo=1
            ),
        )
        queue = _queue(data.get("review_queue") or {}, where, tuple(t.name for t in tiers))
        return cls(
            name=name,
            version=version,
            description=description,
            health=health,
            tiers=tiers,
            hysteresis=hysteresis,
            review_queue=queue,
            source=source,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back (for logging and YAML).

        Durations become text (``"7D"``), rules get their names, and ``health`` holds the
        full kind x severity table under ``by_kind``.

        Examples
        --------
        >>> from govml.policy import Policy
        >>> policy = Policy.from_dict({"name": "p", "version": 1,
        ...     "tiers": [{"name": "restrict", "when": [{"min_points": 8}],
        ...                "action": {"kind": "live_restriction", "duration": "7D"}},
        ...               {"name": "healthy"}]})
        >>> data = policy.to_dict()
        >>> data["tiers"][0]["action"], data["health"]["expiry"], data["review_queue"]["capacity"]
        ({'kind': 'live_restriction', 'duration': '7D'}, '90D', {'default': 0})
        >>> Policy.from_dict(data) == policy
        True
        """

        def td(value: pd.Timedelta | None) -> str | None:
            return (
                None
                if value is None
                else f"{value.days}D"
                if value % _DAY == pd.Timedelta(0)
                else str(value)
            )

        tiers = []
        for t in self.tiers:
            entry: dict[str, Any] = {"name": t.name}
            if t.rules:
                entry["when"] = [
                    {
                        "name": r.name,
                        **{b: getattr(r, b) for b in _RULE_BOUNDS if getattr(r, b) is not None},
                    }
                    for r in t.rules
                ]
            if t.action is not None:
                a = t.action
                entry["action"] = {"kind": a.kind}
                for key in ("duration", "every"):
                    if getattr(a, key) is not None:
                        entry["action"][key] = td(getattr(a, key))
                if a.value_share is not None:
                    entry["action"]["value_share"] = a.value_share
            tiers.append(entry)
        q = self.review_queue
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "health": {
                "expiry": td(self.health.expiry),
                "count_pending": self.health.count_pending,
                # the full kind x severity table (base points and overrides folded in)
                "by_kind": {k: dict(v) for k, v in self.health.points.items()},
            },
            "tiers": tiers,
            "hysteresis": {
                "cooldown_days": self.hysteresis.cooldown_days,
                "confirm_days": self.hysteresis.confirm_days,
            },
            "review_queue": {
                "capacity": dict(q.capacity),
                "exposure": q.exposure,
                "tiers": list(q.tiers),
                "recheck_days": q.recheck_days,
                "min_risk": q.min_risk,
            },
        }


def _health(raw: Any, where: str) -> HealthPoints:
    h = _mapping(raw, where, "health", ("expiry", "count_pending", "points", "by_kind"))
    expiry = _duration(h.get("expiry", "90D"), where, "health.expiry")
    pending = h.get("count_pending", True)
    if not isinstance(pending, bool):
        raise _fail(where, f"health.count_pending={pending!r} must be true or false")
    base = dict(_DEFAULT_POINTS)
    given = _mapping(h.get("points") or {}, where, "health.points", SEVERITIES)
    for sev, value in given.items():
        base[sev] = _number(value, where, f"health.points.{sev}")
    by_kind = _mapping(h.get("by_kind") or {}, where, "health.by_kind", VIOLATION_KINDS)
    table: dict[str, dict[str, float]] = {}
    for kind in VIOLATION_KINDS:
        row = dict(base)
        extra = _mapping(by_kind.get(kind) or {}, where, f"health.by_kind.{kind}", SEVERITIES)
        for sev, value in extra.items():
            row[sev] = _number(value, where, f"health.by_kind.{kind}.{sev}")
        table[kind] = row
    frozen = MappingProxyType({k: MappingProxyType(v) for k, v in table.items()})
    return HealthPoints(points=frozen, expiry=expiry, count_pending=pending)


def _rule(raw: Any, where: str, field_: str, default_name: str) -> Rule:
    r = _mapping(raw, where, field_, ("name", *_RULE_BOUNDS))
    name = r.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise _fail(where, f"{field_}.name={name!r} must be a non-empty text")
    bounds: dict[str, Any] = {}
    for b in _RULE_BOUNDS:
        if b in r and r[b] is not None:
            if b.endswith("_risk") and isinstance(r[b], str):
                if not r[b].strip():
                    raise _fail(where, f"{field_}.{b} must be a probability or a model tier name")
                bounds[b] = r[b]  # a model threshold, resolved when the policy is applied
                continue
            hi = 1.0 if b.endswith("_risk") else None
            bounds[b] = _number(r[b], where, f"{field_}.{b}", hi=hi)
    if not bounds:
        raise _fail(where, f"{field_} has no condition; give at least one of {list(_RULE_BOUNDS)}")
    for what in ("points", "risk", "exposure"):
        lo, hi = bounds.get(f"min_{what}"), bounds.get(f"max_{what}")
        numeric = isinstance(lo, float) and isinstance(hi, float)
        if numeric and lo > hi:
            raise _fail(
                where,
                f"{field_}: min_{what}={lo:g} is above max_{what}={hi:g}, so it never matches",
            )
    return Rule(name=name, **bounds)


def _action(raw: Any, where: str, field_: str) -> TierAction:
    if isinstance(raw, str):
        raw = {"kind": raw}
    a = _mapping(raw, where, field_, ("kind", "duration", "every", "value_share"))
    kind = a.get("kind")
    if kind not in ACTION_KINDS:
        raise _fail(
            where, f"{field_}.kind={kind!r} is not an action kind; use one of {list(ACTION_KINDS)}"
        )
    duration = every = None
    if a.get("duration") is not None:
        duration = _duration(a["duration"], where, f"{field_}.duration")
    if a.get("every") is not None:
        every = _duration(a["every"], where, f"{field_}.every")
    share = None
    if a.get("value_share") is not None:
        share = _number(a["value_share"], where, f"{field_}.value_share")
    return TierAction(kind=kind, duration=duration, every=every, value_share=share)


def _tiers(raw: Any, where: str) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise _fail(
            where,
            "tiers must be a list of at least two tiers (most severe first, one without "
            "'when' as the default)",
        )
    tiers: list[Tier] = []
    for i, entry in enumerate(raw):
        at = f"tiers[{i}]"
        t = _mapping(entry, where, at, ("name", "when", "action"))
        name = t.get("name")
        if not isinstance(name, str) or not name:
            raise _fail(where, f"{at}.name={name!r} must be a non-empty text")
        if name in (x.name for x in tiers):
            raise _fail(
                where, f"{at}.name={name!r} is used by two tiers; tier names must be unique"
            )
        when = t.get("when")
        if when is None:
            rules: tuple[Rule, ...] = ()
        elif isinstance(when, list) and when:
            rules = tuple(
                _rule(r, where, f"{at}.when[{j}]", f"{name}.{j + 1}") for j, r in enumerate(when)
            )
        else:
            raise _fail(
                where,
                f"{at}.when must be a non-empty list of rules (leave it out for the default tier)",
            )
        action = _action(t["action"], where, f"{at}.action") if t.get("action") else None
        tiers.append(Tier(name=name, rules=rules, action=action))
    defaults = [t.name for t in tiers if t.is_default]
    if len(defaults) != 1:
        raise _fail(
            where,
            f"exactly one tier must have no 'when' rules (the default tier); found "
            f"{len(defaults)}: {defaults}",
        )
    return tuple(tiers)


def _queue(raw: Any, where: str, tier_names: tuple[str, ...]) -> ReviewQueueConfig:
    q = _mapping(raw, where, "review_queue", ReviewQueueConfig.__annotations__)
    capacity = _capacity(q.get("capacity", 0), where, "review_queue.capacity")
    exposure = q.get("exposure", _DEFAULT_EXPOSURE)
    if not isinstance(exposure, str) or not exposure:
        raise _fail(where, f"review_queue.exposure={exposure!r} must be a column name")
    tiers = q.get("tiers") or ()
    if isinstance(tiers, str):
        tiers = (tiers,)
    unknown = [t for t in tiers if t not in tier_names]
    if unknown:
        raise _fail(
            where,
            f"review_queue.tiers names {unknown}, which are not tiers of this policy {list(tier_names)}",
        )
    return ReviewQueueConfig(
        capacity=MappingProxyType(capacity),
        exposure=exposure,
        tiers=tuple(tiers),
        recheck_days=_whole(q.get("recheck_days", 0), where, "review_queue.recheck_days"),
        min_risk=_number(q.get("min_risk", 0.0), where, "review_queue.min_risk", hi=1.0),
    )


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read and validate a policy YAML file.

    Parameters
    ----------
    path : path-like
        E.g. ``experiments/policy_baseline.yaml``.

    Returns
    -------
    Policy

    Raises
    ------
    PolicyError
        Missing file, invalid YAML, unknown or invalid fields (named, with the allowed
        values).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from govml.policy import load_policy
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "policy_demo.yaml"
    ...     _ = path.write_text("{name: demo, version: 2, tiers: "
    ...                         "[{name: review, when: [{min_risk: 0.3}]}, {name: ok}]}")
    ...     policy = load_policy(path)
    >>> policy.label, policy.tier_names, policy.source.endswith("policy_demo.yaml")
    ('demo@2', ('review', 'ok'), True)
    >>> load_policy("no/such/policy.yaml")
    Traceback (most recent call last):
    ...
    govml._exceptions.PolicyError: policy file no/such/policy.yaml does not exist; pass a YAML file such as experiments/policy_baseline.yaml
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise PolicyError(
            f"policy file {p} does not exist; pass a YAML file such as "
            "experiments/policy_baseline.yaml"
        )
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise PolicyError(f"policy file {p} is not valid YAML: {error}") from None
    return Policy.from_dict(data if data is not None else {}, source=str(p))


# =========================================================================== health points


def _require_columns(frame: Any, what: str, columns: Sequence[str], fix: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{what} lacks column(s) {missing} (it has {list(map(str, frame.columns))[:12]}); {fix}"
        )


def _violation_intervals(violations: pd.DataFrame, health: HealthPoints) -> pd.DataFrame:
    """Violations as ``[start, end)`` point intervals under the health-point rule."""
    v = violations
    kind = v["kind"].astype(str).to_numpy()
    severity = v["severity"].astype(str).to_numpy()
    lookup = {(k, s): health.points[k][s] for k in VIOLATION_KINDS for s in SEVERITIES}
    points = np.array(
        [lookup.get((k, s), 0.0) for k, s in zip(kind, severity, strict=True)], dtype=np.float64
    )
    detected = v["detected_at"]
    expires = detected + health.expiry
    resolved = v["resolved_at"]
    overturned = (v["status"].astype(str) == "overturned").to_numpy()
    if health.count_pending:
        start = detected
        stop = expires.where(~(overturned & (resolved < expires).to_numpy()), resolved)
        keep = np.ones(len(v), dtype=bool)
    else:
        start = resolved
        stop = expires
        keep = ~overturned & (resolved < expires).to_numpy()
    return pd.DataFrame(
        {
            "creator_id": v["creator_id"].astype(str).to_numpy()[keep],
            "start": start.array[keep],
            "end": stop.array[keep],
            "points": points[keep],
        }
    ).astype({"start": "datetime64[us, UTC]", "end": "datetime64[us, UTC]"})


def health_points(
    tables: Tables,
    policy: Policy,
    queries: pd.DataFrame,
    *,
    time_col: str = "snapshot_at",
) -> pd.Series:
    """Active account-health points of creators at query times, point in time.

    A violation's points are active at ``t`` when it became countable strictly before
    ``t`` and had not stopped counting before ``t`` (see the module docstring: from
    ``detected_at`` — or ``resolved_at`` with ``count_pending: false`` — until
    ``detected_at + expiry``, or until ``resolved_at`` if overturned). Violations
    detected at or after ``t`` change nothing.

    Parameters
    ----------
    tables : Tables
        Validated tables (``violations`` is used).
    policy : Policy
        Its ``health`` section gives points and expiry.
    queries : DataFrame
        ``creator_id`` and ``time_col`` (timezone-aware). Not modified.
    time_col : str, default "snapshot_at"

    Returns
    -------
    Series
        float64 points, indexed like ``queries``, named ``points``.

    Raises
    ------
    ConfigError
        ``queries`` lacks a column.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.policy import Policy, health_points
    >>> from govml.schema import Tables
    >>> ts = lambda s: pd.Timestamp(s, tz="UTC")
    >>> violations = pd.DataFrame({"creator_id": ["a"], "kind": ["counterfeit"],
    ...     "severity": ["major"], "detected_at": [ts("2026-01-01")],
    ...     "status": ["overturned"], "resolved_at": [ts("2026-01-10")]})
    >>> e = pd.DataFrame()
    >>> tables = Tables(creators=e, sessions=e, outcomes=e, violations=violations,
    ...                 actions=e, reviews=e)
    >>> policy = Policy.from_dict({"name": "p", "version": 1,
    ...     "tiers": [{"name": "bad", "when": [{"min_points": 4}]}, {"name": "ok"}]})
    >>> q = pd.DataFrame({"creator_id": "a", "snapshot_at": [ts("2026-01-01"),
    ...                   ts("2026-01-05"), ts("2026-01-11")]})
    >>> health_points(tables, policy, q).tolist()  # counts while the appeal is open
    [0.0, 4.0, 0.0]
    """
    from govml.features.intervals import active_at

    _require_columns(
        queries,
        "queries",
        ["creator_id", time_col],
        "pass creator_id and the query time (e.g. creator snapshots)",
    )
    intervals = _violation_intervals(tables.violations, policy.health)
    q = pd.DataFrame(
        {"creator_id": queries["creator_id"].astype(str).to_numpy(), "t": queries[time_col].array},
        index=queries.index,
    )
    out = active_at(
        intervals,
        q,
        keys="creator_id",
        start="start",
        end="end",
        query_time="t",
        values=["points"],
        name="hp",
    )
    # sums of +points/-points can leave rounding residue around zero
    return out["hp_points"].round(9).rename("points")


# =========================================================================== tiers


def _raw_tiers(
    policy: Policy,
    points: np.ndarray,
    risk: np.ndarray,
    exposure: np.ndarray,
    thresholds: Mapping[str, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Tier index and rule name per row before hysteresis: first matching tier wins."""
    n = len(points)
    default = policy.tier_names.index(policy.default_tier)
    tier = np.full(n, default, dtype=np.int64)
    rule = np.full(n, f"{policy.default_tier}.default", dtype=object)
    done = np.zeros(n, dtype=bool)
    for i, t in enumerate(policy.tiers):
        for r in t.rules:
            hit = ~done & r.matches(points, risk, exposure, thresholds=thresholds)
            tier[hit] = i
            rule[hit] = r.name
            done |= hit
    return tier, rule


def assign_tiers(
    frame: pd.DataFrame,
    policy: Policy,
    *,
    time_col: str = "snapshot_at",
    risk: str = "probability",
    points: str = "points",
    exposure: str | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Tiers, the rule that fired and actions for a sequence of creator evaluations.

    Each row is one evaluation of a creator (e.g. a daily snapshot). Per creator, in
    time order, the raw tier is the first tier (most severe first) with a matching rule,
    else the default tier. Hysteresis then decides the tier: a more severe raw tier is
    entered at once; a lighter one only after ``cooldown_days`` in the current tier and
    ``confirm_days`` consecutive evaluations qualifying for a lighter tier (the creator
    moves to the most severe tier among those evaluations). A tier's action is taken on
    entering it (the first evaluation of a creator enters its tier) and again every
    ``action.every`` while the creator stays.

    Parameters
    ----------
    frame : DataFrame
        ``creator_id``, ``time_col``, ``risk`` and ``points`` columns, plus the exposure
        column when a rule or an action's ``value_share`` uses it. Not modified.
    policy : Policy
    time_col, risk, points : str
        Column names.
    exposure : str, optional
        Exposure column (default: the policy's ``review_queue.exposure``). When
        missing, exposure is NaN: rules bounding it never match.
    thresholds : mapping, optional
        The model's tier cuts, for risk bounds given by name.

    Returns
    -------
    DataFrame
        Indexed like ``frame``: ``raw_tier, raw_rule`` (before hysteresis), ``tier,
        rule`` (the rule that put the creator in ``tier``, or ``hysteresis:cooldown`` /
        ``hysteresis:confirm`` when hysteresis holds it there), ``previous_tier`` (None
        at a creator's first evaluation), ``changed`` (the creator entered ``tier`` at
        this evaluation; True at its first one), ``action`` (kind or None),
        ``action_value`` (NaN without ``value_share``) and ``action_ends_at``.

    Raises
    ------
    ConfigError
        ``frame`` lacks a column.
    PolicyError
        A rule names a model threshold that ``thresholds`` does not have.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.policy import Policy, assign_tiers
    >>> policy = Policy.from_dict({"name": "p", "version": 1,
    ...     "tiers": [{"name": "restrict", "when": [{"min_points": 12}],
    ...                "action": "live_restriction"}, {"name": "ok"}],
    ...     "hysteresis": {"cooldown_days": 2}})
    >>> days = pd.date_range("2026-01-01", periods=4, freq="D", tz="UTC")
    >>> frame = pd.DataFrame({"creator_id": "a", "snapshot_at": days,
    ...                       "probability": 0.1, "points": [12.0, 0.0, 0.0, 0.0]})
    >>> out = assign_tiers(frame, policy)
    >>> out["tier"].tolist(), out["rule"].tolist()[1], out["action"].tolist()[0]
    (['restrict', 'restrict', 'ok', 'ok'], 'hysteresis:cooldown', 'live_restriction')
    """
    exposure = exposure or policy.review_queue.exposure
    _require_columns(
        frame,
        "the tier input frame",
        ["creator_id", time_col, risk, points],
        "score creator snapshots and compute health_points first",
    )
    n = len(frame)
    p = frame[points].to_numpy(dtype=np.float64, na_value=np.nan)
    r = frame[risk].to_numpy(dtype=np.float64, na_value=np.nan)
    if exposure in frame.columns:
        x = frame[exposure].to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        x = np.full(n, np.nan)
    raw, raw_rule = _raw_tiers(policy, p, r, x, thresholds)
    times = pd.DatetimeIndex(frame[time_col]).as_unit("us").asi8
    creators = frame["creator_id"].astype(str).to_numpy()
    order = np.lexsort((times, creators))

    tier = np.empty(n, dtype=np.int64)
    rule = np.empty(n, dtype=object)
    prev = np.full(n, -1, dtype=np.int64)
    action_at = np.zeros(n, dtype=bool)
    day_us = 86_400_000_000
    cooldown = policy.hysteresis.cooldown_days * day_us
    confirm = policy.hysteresis.confirm_days
    actions = [t.action for t in policy.tiers]
    every = [None if a is None or a.every is None else a.every.value // 1000 for a in actions]

    o_list = order.tolist()
    c_list = creators[order].tolist()
    t_list = times[order].tolist()
    raw_list = raw[order].tolist()
    last_creator = None
    cur = entered = last_action = 0
    recent: list[int] = []
    for j, i in enumerate(o_list):
        t, rt = t_list[j], raw_list[j]
        if c_list[j] != last_creator:
            last_creator = c_list[j]
            cur, entered, recent, changed = rt, t, [], True
            rule[i] = raw_rule[i]
            prev[i] = -1
        else:
            prev[i] = cur
            changed = False
            if rt < cur:
                cur, entered, recent, changed = rt, t, [], True
                rule[i] = raw_rule[i]
            elif rt == cur:
                recent = []
                rule[i] = raw_rule[i]
            else:
                recent.append(rt)
                if len(recent) > confirm:
                    recent.pop(0)
                if t - entered >= cooldown and len(recent) >= confirm:
                    new = min(recent)
                    cur, entered, recent, changed = new, t, [], True
                    rule[i] = raw_rule[i] if new == rt else "hysteresis:confirm"
                else:
                    rule[i] = (
                        "hysteresis:cooldown" if t - entered < cooldown else "hysteresis:confirm"
                    )
        tier[i] = cur
        repeat = every[cur] is not None and t - last_action >= every[cur]
        if actions[cur] is not None and (changed or repeat):
            action_at[i] = True
            last_action = t

    names = np.array(policy.tier_names, dtype=object)
    kinds = np.array([a.kind if a else None for a in actions], dtype=object)
    shares = np.array(
        [a.value_share if a and a.value_share is not None else np.nan for a in actions]
    )
    durations = np.array(
        [a.duration.value // 1000 if a and a.duration is not None else -1 for a in actions]
    )
    action = np.where(action_at, kinds[tier], None)
    value = np.where(action_at, shares[tier] * np.nan_to_num(x, nan=0.0), np.nan)
    nat = np.iinfo(np.int64).min  # NaT as int64
    ends = np.where(action_at & (durations[tier] >= 0), times + durations[tier], nat)
    ends_at = pd.DatetimeIndex(ends.view("datetime64[us]")).tz_localize("UTC")
    return pd.DataFrame(
        {
            "raw_tier": pd.array(names[raw], dtype="str"),
            "raw_rule": pd.array(raw_rule, dtype="str"),
            "tier": pd.array(names[tier], dtype="str"),
            "rule": pd.array(rule, dtype="str"),
            "previous_tier": pd.array(
                np.where(prev >= 0, names[np.maximum(prev, 0)], None), dtype="str"
            ),
            "changed": prev != tier,
            "action": pd.array(action, dtype="str"),
            "action_value": value,
            "action_ends_at": ends_at,
        },
        index=frame.index,
    )


# =========================================================================== review queue


def review_queue(
    scores: pd.DataFrame,
    policy: Policy,
    *,
    day: pd.Timestamp | str | None = None,
    time_col: str = "snapshot_at",
    risk: str = "probability",
    exposure: str | None = None,
    key: str = "creator_id",
    exclude: Iterable[str] = (),
) -> pd.DataFrame:
    """The day's review queue: per market, the top ``capacity`` by expected harm.

    Expected harm is ``risk × exposure`` (missing exposure counts as 0). Candidates are
    the rows of ``day`` (when given) whose tier is one of ``review_queue.tiers`` (when
    the policy names tiers; ``scores`` then needs a ``tier`` column), whose risk is at
    least ``review_queue.min_risk`` and whose key is not in ``exclude`` (e.g. creators
    reviewed recently). Ties are broken by risk, then key.

    Parameters
    ----------
    scores : DataFrame
        ``key``, ``market``, ``risk``, the exposure column, ``time_col`` (when ``day`` is
        given) and ``tier`` (when the policy restricts tiers). Not modified.
    policy : Policy
    day : timestamp, optional
        Keep rows with ``day <= time_col < day + 1 day`` (a date is midnight UTC).
    time_col, risk, key : str
        Column names (``key="session_id"`` queues sessions).
    exposure : str, optional
        Exposure column (default: the policy's ``review_queue.exposure``).
    exclude : iterable of str
        Keys never queued.

    Returns
    -------
    DataFrame
        The queued rows, indexed like ``scores``, sorted by market and rank: ``market,
        rank`` (1 = first), ``key``, ``probability`` (the risk), ``exposure``,
        ``expected_harm``, and ``tier``/``rule`` when ``scores`` has them.

    Raises
    ------
    ConfigError
        A needed column is missing, or ``day`` is not a timestamp.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.policy import Policy, review_queue
    >>> policy = Policy.from_dict({"name": "p", "version": 1,
    ...     "tiers": [{"name": "risky", "when": [{"min_risk": 0.5}]}, {"name": "ok"}],
    ...     "review_queue": {"capacity": {"ID": 2, "default": 1}}})
    >>> scores = pd.DataFrame({"creator_id": ["a", "b", "c", "d"],
    ...     "market": ["ID", "ID", "ID", "TH"], "probability": [0.9, 0.2, 0.5, 0.3],
    ...     "sess_gmv_sum_30d": [100.0, 1000.0, 100.0, 10.0]})
    >>> review_queue(scores, policy)[["market", "rank", "creator_id", "expected_harm"]]
      market  rank creator_id  expected_harm
    1     ID     1          b          200.0
    0     ID     2          a           90.0
    3     TH     1          d            3.0
    """
    q = policy.review_queue
    exposure = exposure or q.exposure
    needed = [key, "market", risk, exposure]
    if day is not None:
        needed.append(time_col)
    if q.tiers:
        needed.append("tier")
    _require_columns(
        scores,
        "scores",
        needed,
        f"the review queue ranks {risk} x {exposure} per market"
        + (f" among tiers {list(q.tiers)}" if q.tiers else ""),
    )
    keep = np.ones(len(scores), dtype=bool)
    if day is not None:
        d = to_utc(
            day, lambda: ConfigError(f"day={day!r} is not a timestamp; write e.g. 2026-01-31")
        )
        t = scores[time_col]
        keep &= ((t >= d) & (t < d + _DAY)).to_numpy()
    if q.tiers:
        allowed = set(q.tiers)
        tiers = scores["tier"].to_numpy(dtype=object)
        keep &= np.fromiter((t in allowed for t in tiers), dtype=bool, count=len(tiers))
    probability = scores[risk].to_numpy(dtype=np.float64, na_value=np.nan)
    keep &= probability >= q.min_risk
    all_keys = scores[key].to_numpy(dtype=object)
    excluded = set(map(str, exclude))
    if excluded:
        keep &= np.fromiter(
            (str(k) not in excluded for k in all_keys), dtype=bool, count=len(all_keys)
        )
    rows = np.flatnonzero(keep)
    x = scores[exposure].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
    x = np.where(np.isfinite(x), np.maximum(x, 0.0), 0.0)
    p = probability[rows]
    harm = p * x
    markets = scores["market"].astype(str).to_numpy()[rows]
    keys = np.array([str(k) for k in all_keys[rows]], dtype=object)
    # market, then harm and risk descending, then key: numpy sorts, no per-call pandas groupby
    order = np.lexsort((keys, -p, -harm, markets))
    ordered = markets[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(order) else order
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, sizes) + 1
    cap = np.array([q.capacity_of(m) for m in ordered[starts]], dtype=np.int64)
    within = rank <= np.repeat(cap, sizes)
    take, rank = order[within], rank[within]
    out = pd.DataFrame(
        {
            "market": pd.array(markets[take], dtype="str"),
            "rank": rank,
            key: pd.array(keys[take], dtype="str"),
            "probability": p[take],
            "exposure": x[take],
            "expected_harm": harm[take],
        },
        index=scores.index[rows[take]],
    )
    for extra in ("tier", "rule"):
        if extra in scores.columns:
            out[extra] = scores[extra].to_numpy()[rows[take]]
    if day is not None:
        out.insert(0, "day", d)
    return out


# =========================================================================== backtest

#: Columns of :attr:`BacktestResult.weekly`, in order (ACTION_KINDS give ``n_<kind>``).
WEEKLY_COLUMNS: tuple[str, ...] = (
    "policy",
    "market",
    "week",
    "creators",
    "creator_days",
    "penalised",
    "rewarded",
    "tier_changes",
    "actions",
    *(f"n_{k}" for k in ACTION_KINDS),
    "queued",
    "queue_labelled",
    "queue_hits",
    "queue_hit_rate",
    "labelled",
    "positives",
    "penalised_labelled",
    "true_positives",
    "precision",
    "recall",
    "false_penalty_labelled",
    "false_penalties",
    "false_penalty_rate",
    "false_penalties_truth",
    "false_penalty_rate_truth",
    "gmv_affected",
    "reward_usd",
)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """A policy backtest: every decision, and per market and week what the policies did.

    Units: a *creator-day* is one daily evaluation of an active creator (a snapshot at
    midnight UTC, scored with features known before it); a *creator-week* groups a
    creator's days of one Monday-to-Sunday week in one market. The label of a
    creator-day is the adversarial-seller label: a confirmed (not overturned) major or
    critical violation of an adversarial kind detected within ``horizon`` after the
    day; it is known (mature) only when ``day + horizon + resolution_delay <=
    label_cutoff`` and every such violation's status was final before the cutoff.
    Immature labels are missing and left out of every rate.

    Attributes
    ----------
    policies : tuple of str
        Policy labels (``name@version``) in the order given.
    start, end : Timestamp
        First and last day replayed (midnight UTC, both included).
    horizon, resolution_delay : Timedelta
        Of the creator labels.
    label_cutoff : Timestamp
        The export time of the tables (latest known-at + 1 µs): labels must be mature
        at it.
    decisions : DataFrame
        One row per policy × creator-day: ``policy, creator_id, market, day, week,
        probability`` (model risk), ``points`` (active health points), ``exposure``
        (the policy's exposure column), ``raw_tier, raw_rule, tier, rule,
        previous_tier, changed, action, action_value, action_ends_at`` (see
        :func:`assign_tiers`), ``penalised`` (the tier's action is a penalty),
        ``queued, queue_rank, expected_harm`` (the review queue), ``label`` (Int8,
        missing when immature), ``justified`` (boolean, missing when immature: a
        violation of any kind that ended up confirmed was detected in ``[day - expiry,
        day + horizon)``), ``honest`` (boolean, ground truth only: the creator was not
        adversarial at ``day``), ``gmv_day`` (GMV of the sessions the creator started
        that day) and ``reason_{i}_code``/``reason_{i}_text`` for rows where a policy
        took an action or queued the creator (None elsewhere).
    weekly : DataFrame
        One row per policy × market × week, columns :data:`WEEKLY_COLUMNS`:

        ``creators``, ``creator_days``
            Creators evaluated, creator-days.
        ``penalised``, ``rewarded``
            Creator-weeks with at least one day in a penalty tier / reward tier.
        ``tier_changes``
            Tier changes (hysteresis included; a creator's first day is not a change).
        ``actions``, ``n_<kind>``
            Actions taken, in all and by kind.
        ``queued``, ``queue_labelled``, ``queue_hits``, ``queue_hit_rate``
            Review-queue entries (creator-days), those with a mature label, those
            labelled 1, and hits / labelled.
        ``labelled``, ``positives``
            Creator-weeks with a mature label on some day; with label 1 on some day.
        ``penalised_labelled``, ``true_positives``, ``precision``, ``recall``
            Penalised labelled creator-weeks; penalised positive ones; precision =
            true_positives / penalised_labelled; recall = true_positives / positives.
        ``false_penalty_labelled``, ``false_penalties``, ``false_penalty_rate``
            Penalised creator-weeks whose penalised days have mature ``justified``;
            those where no penalised day is justified (an honest creator by the
            confirmed records); their ratio.
        ``false_penalties_truth``, ``false_penalty_rate_truth``
            Penalised creator-weeks of creators honest on every penalised day by the
            simulator's ground truth, and their share of ``penalised`` (NaN without
            ``truth``).
        ``gmv_affected``
            GMV (USD) of sessions started on days the creator was in a penalty tier.
        ``reward_usd``
            Value of reward actions (``value_share`` × exposure).
    tiers : DataFrame
        ``policy, market, week, tier, creators`` (creators whose last evaluation of the
        week was in the tier) ``, creator_days``.
    queue : DataFrame
        The review-queue entries: ``policy, day, market, rank, creator_id,
        probability, exposure, expected_harm, tier, rule, label`` and reason codes.
    notes : tuple of str
        What samples and cutoffs the numbers use.

    Examples
    --------
    One policy (restrict from 4 health points, queue creators the model puts above its
    ``review`` cut) replayed over a week of a small world, with its ground truth:

    >>> import govml
    >>> from govml.policy import Policy, backtest
    >>> world = govml.simulate(n_creators=150, n_days=75, seed=2)
    >>> fast = govml.default_config("adversarial").override({"model.num_boost_round": 20,
    ...     "labels.horizon": "7D", "labels.resolution_delay": "7D", "evaluation.n_bootstrap": 0})
    >>> model = govml.train_task(world.tables, fast, track=False).model  # a toy model
    >>> policy = Policy.from_dict({"name": "strict", "version": 1, "tiers": [
    ...     {"name": "restrict", "when": [{"min_points": 4}], "action": "live_restriction"},
    ...     {"name": "review", "when": [{"min_risk": "review"}]}, {"name": "healthy"}],
    ...     "review_queue": {"capacity": 2, "tiers": ["review"]}})
    >>> result = backtest(world.tables, model, policy, start="2025-10-06", end="2025-10-12",
    ...                   truth=world.truth)  # labels: the model's own 7D horizon
    >>> result.policies, len(result.decisions) == int(result.weekly["creator_days"].sum())
    (('strict@1',), True)
    >>> result.weekly[["market", "creators", "penalised", "true_positives",
    ...                "false_penalties_truth"]]  # doctest: +NORMALIZE_WHITESPACE
      market  creators  penalised  true_positives  false_penalties_truth
    0     ID        56          3               1                      1
    1     MY        11          0               0                      0
    2     PH        16          0               0                      0
    3     SG         3          0               0                      0
    4     TH        23          2               0                      2
    5     VN        29          3               0                      2
    >>> bool((result.queue.groupby(["day", "market"]).size() <= 2).all())  # the capacity
    True
    >>> print(result.notes[1])  # doctest: +NORMALIZE_WHITESPACE
    creator labels: confirmed major/critical adversarial violation detected within 7D
    after the day; 939 of 939 creator-days mature at the export time 2025-10-28 22:58
    (day + 7D + 7D resolution delay; settings not given come from the model's training
    config)
    """

    policies: tuple[str, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    horizon: pd.Timedelta
    resolution_delay: pd.Timedelta
    label_cutoff: pd.Timestamp
    decisions: pd.DataFrame = field(repr=False)
    weekly: pd.DataFrame = field(repr=False)
    tiers: pd.DataFrame = field(repr=False)
    queue: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    def compare(self) -> pd.DataFrame:
        """The policies side by side over the whole period (all markets and weeks).

        Returns
        -------
        DataFrame
            One row per metric, one column per policy: the summed counts of
            :attr:`weekly` and the rates recomputed from them, plus
            ``tier_changes_per_creator_week``.

        Examples
        --------
        >>> import govml
        >>> from govml.policy import Policy, backtest
        >>> world = govml.simulate(n_creators=150, n_days=75, seed=2)
        >>> fast = govml.default_config("adversarial").override({
        ...     "model.num_boost_round": 20, "evaluation.n_bootstrap": 0,
        ...     "labels.horizon": "7D", "labels.resolution_delay": "7D"})
        >>> model = govml.train_task(world.tables, fast, track=False).model  # a toy model
        >>> policy = Policy.from_dict({"name": "strict", "version": 1, "tiers": [
        ...     {"name": "restrict", "when": [{"min_points": 4}], "action": "live_restriction"},
        ...     {"name": "healthy"}]})
        >>> result = backtest(world.tables, model, policy, start="2025-10-06", end="2025-10-12",
        ...                   horizon="7D", resolution_delay="7D", truth=world.truth)
        >>> table = result.compare()
        >>> bool(table.loc["penalised", "strict@1"] == result.weekly["penalised"].sum())
        True
        >>> rows = ["penalised", "false_penalties_truth", "false_penalty_rate_truth"]
        >>> table.loc[rows]  # doctest: +NORMALIZE_WHITESPACE
        policy                    strict@1
        metric
        penalised                    8.000
        false_penalties_truth        5.000
        false_penalty_rate_truth     0.625
        """
        w = self.weekly
        counts = [
            c
            for c in WEEKLY_COLUMNS[3:]
            if c not in ("queue_hit_rate", "precision", "recall")
            and not c.endswith("_rate")
            and not c.endswith("_truth")
        ]
        rows: dict[str, dict[str, float]] = {}
        for label in self.policies:
            part = w[w["policy"] == label]
            s = {c: float(part[c].sum()) for c in counts}
            s["creator_weeks"] = float(part["creators"].sum())
            s["false_penalties_truth"] = float(part["false_penalties_truth"].sum(min_count=1))
            s["queue_hit_rate"] = _ratio(s["queue_hits"], s["queue_labelled"])
            s["precision"] = _ratio(s["true_positives"], s["penalised_labelled"])
            s["recall"] = _ratio(s["true_positives"], s["positives"])
            s["false_penalty_rate"] = _ratio(s["false_penalties"], s["false_penalty_labelled"])
            s["false_penalty_rate_truth"] = _ratio(s["false_penalties_truth"], s["penalised"])
            s["share_penalised"] = _ratio(s["penalised"], s["creator_weeks"])
            s["tier_changes_per_creator_week"] = _ratio(s["tier_changes"], s["creator_weeks"])
            rows[label] = s
        order = [
            "creator_days",
            "creator_weeks",
            "penalised",
            "share_penalised",
            "rewarded",
            "tier_changes",
            "tier_changes_per_creator_week",
            "actions",
            *(f"n_{k}" for k in ACTION_KINDS),
            "queued",
            "queue_hit_rate",
            "positives",
            "precision",
            "recall",
            "false_penalties",
            "false_penalty_rate",
            "false_penalties_truth",
            "false_penalty_rate_truth",
            "gmv_affected",
            "reward_usd",
        ]
        out = pd.DataFrame(rows).reindex(order)
        out.index.name = "metric"
        out.columns.name = "policy"
        return out


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den and np.isfinite(den) and np.isfinite(num) else np.nan


def _as_policies(policies: Any) -> tuple[Policy, ...]:
    if isinstance(policies, Policy | str | os.PathLike):
        policies = [policies]
    out = []
    for p in policies:
        out.append(p if isinstance(p, Policy) else load_policy(p))
    if not out:
        raise ConfigError("backtest needs at least one policy")
    labels = [p.label for p in out]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ConfigError(
            f"two policies are both labelled {dup}; give each policy its own name or "
            "version so the backtest can tell them apart"
        )
    return tuple(out)


def _as_model(model: Any) -> GovmlModel:
    from govml.model import GovmlModel

    if isinstance(model, GovmlModel):
        found = model
    elif isinstance(model, str | os.PathLike):
        from govml.tracking import load_model

        found = load_model(model)
    else:
        raise ConfigError(
            f"model must be a GovmlModel, a model folder or a model URI (models:/..., "
            f"runs:/...), got {type(model).__name__}"
        )
    if found.metadata.task != "adversarial":
        raise ConfigError(
            f"the backtest replays creator decisions and needs an adversarial-seller model; "
            f"{found!r} is a {found.metadata.task!r} model. Pass the model trained with "
            "--task adversarial"
        )
    return found


def _day(value: Any, name: str) -> pd.Timestamp:
    ts = to_utc(
        value, lambda: ConfigError(f"{name}={value!r} is not a date; write e.g. 2025-11-01")
    )
    return ts.normalize().as_unit("us")


def _export_time(tables: Tables) -> pd.Timestamp:
    """Latest known-at time in the tables + 1 µs: what was known when they were exported."""
    from govml.schema import CONTRACT

    latest = [
        tables[name][spec.known_at].max()
        for name, spec in CONTRACT.items()
        if len(tables[name]) and spec.known_at in tables[name].columns
    ]
    return max(t for t in latest if t is not pd.NaT) + pd.Timedelta(microseconds=1)


def _mature_labels(
    tables: Tables,
    snaps: pd.DataFrame,
    *,
    shift: pd.Timedelta,
    horizon: pd.Timedelta,
    resolution_delay: pd.Timedelta,
    cutoff: pd.Timestamp,
    kinds: Sequence[str] | None = None,
    severities: Sequence[str] | None = None,
) -> tuple[np.ndarray, int]:
    """Labels of ``snaps`` (window ``[t - shift, t - shift + horizon)``) as float, NaN immature."""
    from govml.features.labels import creator_labels

    shifted = pd.DataFrame(
        {"creator_id": snaps["creator_id"].to_numpy(), "snapshot_at": snaps["snapshot_at"] - shift}
    )
    extra = {}
    if kinds is not None:
        extra = {"kinds": kinds, "severities": severities}
    try:
        lab = creator_labels(
            tables,
            shifted,
            horizon=horizon,
            resolution_delay=resolution_delay,
            cutoff=cutoff,
            **extra,
        ).frame
    except LabelError:  # no label is mature at the cutoff: every value stays missing
        return np.full(len(snaps), np.nan), 0
    merged = shifted.merge(lab, on=["creator_id", "snapshot_at"], how="left", validate="one_to_one")
    values = merged["label"].to_numpy(dtype=np.float64, na_value=np.nan)
    return values, int(np.isfinite(values).sum())


def _gmv_by_creator_day(tables: Tables, creators: np.ndarray, days: np.ndarray) -> np.ndarray:
    s = tables.sessions
    started = s["started_at"].dt.floor("D")
    gmv = (
        pd.DataFrame(
            {
                "creator_id": s["creator_id"].astype(str).to_numpy(),
                "day": started.array,
                "gmv": s["gmv"].to_numpy(dtype=np.float64),
            }
        )
        .groupby(["creator_id", "day"], sort=False)["gmv"]
        .sum()
    )
    key = pd.MultiIndex.from_arrays([creators, days])
    return gmv.reindex(key).fillna(0.0).to_numpy()


def _queue_days(frame: pd.DataFrame, policy: Policy, day_codes: np.ndarray) -> np.ndarray:
    """Queue rank per row (0 = not queued), day by day with the recheck rule.

    Each day's rows go through :func:`review_queue` (the one ranking rule); rows that can
    never be queued (other tiers, risk below ``min_risk``) are dropped once up front.
    """
    q = policy.review_queue
    rank = np.zeros(len(frame), dtype=np.int64)
    eligible = frame["probability"].to_numpy(dtype=np.float64, na_value=np.nan) >= q.min_risk
    if q.tiers:
        eligible &= frame["tier"].isin(q.tiers).to_numpy()
    columns = ["creator_id", "market", "probability", q.exposure, "tier"]
    slim = frame.loc[eligible, columns].reset_index(drop=True)
    positions = np.flatnonzero(eligible)
    codes = day_codes[eligible]
    last_queued: dict[str, int] = {}
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for rows in np.split(order, bounds) if len(order) else ():
        d = int(codes[rows[0]])
        exclude = [c for c, when in last_queued.items() if d - when < q.recheck_days]
        picked = review_queue(slim.iloc[rows], policy, exclude=exclude)
        rank[positions[picked.index.to_numpy()]] = picked["rank"].to_numpy()
        for c in picked["creator_id"].tolist():
            last_queued[c] = d
    return rank


def backtest(
    tables: Tables,
    model: GovmlModel | str | os.PathLike[str],
    policies: Policy | str | os.PathLike[str] | Sequence[Policy | str | os.PathLike[str]],
    *,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    truth: GroundTruth | None = None,
    horizon: str | pd.Timedelta | None = None,
    resolution_delay: str | pd.Timedelta | None = None,
    active_within: str | None = None,
    warmup: str | pd.Timedelta = "14D",
    reasons: int = 3,
    unseen: str = "warn",
) -> BacktestResult:
    """Replay policies day by day over history, using only what was known each day.

    For every day ``d`` in ``[start, end]`` each creator active in the 30 days before
    ``d`` gets a snapshot at midnight UTC. All snapshots are featurised in one batched
    point-in-time build (:func:`govml.features.creator_features`) and scored by the
    model once. Then, per policy: health points as of each day
    (:func:`health_points`), tiers with hysteresis and actions
    (:func:`assign_tiers`), and each day's review queue (:func:`review_queue`, with
    ``recheck_days``). Decisions never see a later day; labels are joined only to
    measure them (see :class:`BacktestResult` for every column).

    Parameters
    ----------
    tables : Tables
        Validated tables.
    model : GovmlModel, path or URI
        An adversarial-seller model, or where to load it from (a model folder,
        ``models:/name@alias``, ``runs:/<id>/model``; see
        :func:`govml.tracking.load_model`).
    policies : Policy, path, or a sequence of them
        Policies to compare (each label ``name@version`` must be unique).
    start, end : timestamp or date
        First and last day replayed (UTC dates; both included).
    truth : GroundTruth, optional
        A simulated world's ground truth: adds the false-penalty rate by truth.
    horizon, resolution_delay : str or Timedelta, optional
        Of the creator labels used to measure precision and recall. Default: the
        model's own (``labels.*`` of :meth:`GovmlModel.training_config`), else 30D and
        21D for models that record no training configuration.
    active_within : str, optional
        A creator is evaluated on a day if a session of it ended this recently.
        Default: the model's ``snapshots.active_within``, else 30D.
    warmup : str or Timedelta, default "14D"
        Days replayed before ``start`` and then dropped, so tiers, hysteresis, action
        repeats and the queue's recheck rule start from a settled state instead of
        every creator "entering" its tier (and taking its action) on ``start``.
    reasons : int, default 3
        Reason codes kept per decision.
    unseen : {"warn", "raise", "allow"}
        Policy for category levels the model never saw (:meth:`GovmlModel.predict`).

    Returns
    -------
    BacktestResult

    Raises
    ------
    ConfigError
        Bad dates (unparsable, ``start`` after ``end``, no active creator in the
        period), no policy or two with one label, a model of the wrong task.
    PolicyError
        A policy's exposure column is not a creator feature, or a rule names a model
        threshold the model does not have.
    TrackingError, ModelFormatError
        The model cannot be loaded.

    Examples
    --------
    A toy adversarial-seller model on a small world, and two policies that restrict
    creators from 12 or from 4 health points and queue those the model puts above its
    ``review`` cut (2 per market and day):

    >>> import govml
    >>> from govml.policy import Policy, backtest
    >>> world = govml.simulate(n_creators=150, n_days=75, seed=2)
    >>> fast = govml.default_config("adversarial").override({"model.num_boost_round": 20,
    ...     "labels.horizon": "7D", "labels.resolution_delay": "7D", "evaluation.n_bootstrap": 0})
    >>> model = govml.train_task(world.tables, fast, track=False).model  # a toy model
    >>> def policy(name, min_points):
    ...     restrict = {"name": "restrict", "when": [{"min_points": min_points}],
    ...                 "action": "live_restriction"}
    ...     return Policy.from_dict({"name": name, "version": 1, "tiers": [
    ...         restrict, {"name": "review", "when": [{"min_risk": "review"}]},
    ...         {"name": "healthy"}], "review_queue": {"capacity": 2, "tiers": ["review"]}})
    >>> result = backtest(world.tables, model, [policy("lenient", 12), policy("strict", 4)],
    ...                   start="2025-10-06", end="2025-10-12", horizon="7D", resolution_delay="7D")
    >>> rows = ["creator_weeks", "penalised", "precision", "recall"]
    >>> result.compare().loc[rows].round(2)  # doctest: +NORMALIZE_WHITESPACE
    policy         lenient@1  strict@1
    metric
    creator_weeks     138.00    138.00
    penalised           3.00      8.00
    precision           0.33      0.12
    recall              1.00      1.00

    A model that cannot be loaded fails before any work:

    >>> backtest(world.tables, "no/such/model", policy("p", 4),
    ...          start="2025-10-06", end="2025-10-12")
    Traceback (most recent call last):
    ...
    govml._exceptions.TrackingError: no model at 'no/such/model': the folder does not exist; accepted: models:/<name>@<alias>, models:/<name>/<version>, models:/<logged model id>, runs:/<run_id>/model, or a local model folder
    """
    from govml.explain import explain, reason_codes
    from govml.features import creator_features, creator_snapshots

    pols = _as_policies(policies)
    first, last = _day(start, "start"), _day(end, "end")
    if first > last:
        raise ConfigError(f"start={first.date()} is after end={last.date()}; start must come first")
    fitted = _as_model(model)
    from govml.training.config import default_config

    # the model's own label settings are the default (govml's for models storing none)
    trained = fitted.training_config()
    origin = "the model's training config" if trained is not None else "govml's defaults"
    settings = trained if trained is not None else default_config("adversarial")
    horizon = settings.labels.horizon if horizon is None else horizon
    if resolution_delay is None:
        resolution_delay = settings.labels.resolution_delay
    if active_within is None:
        active_within = settings.snapshots.active_within
    thresholds = dict(fitted.metadata.thresholds)
    for p in pols:  # a rule naming a threshold the model lacks fails before any work
        for tier in p.tiers:
            for r in tier.rules:
                _risk_cut(r.min_risk, thresholds, r.name)
                _risk_cut(r.max_risk, thresholds, r.name)
    from govml.training.config import _duration as check_duration

    check_duration(horizon, "backtest: horizon")
    check_duration(resolution_delay, "backtest: resolution_delay")
    check_duration(warmup, "backtest: warmup", allow_zero=True)
    h, delay = pd.Timedelta(horizon), pd.Timedelta(resolution_delay)
    settle = pd.Timedelta(warmup).ceil("D")
    cutoff = _export_time(tables)

    snaps = creator_snapshots(
        tables, start=first - settle, end=last + _DAY, freq="1D", active_within=active_within
    )
    if snaps.empty:
        s = tables.sessions["ended_at"]
        raise ConfigError(
            f"no creator was active (a session ended within {active_within}) on any day from "
            f"{first.date()} to {last.date()}; sessions end between {s.min()} and {s.max()}: "
            "pick days inside the data"
        )
    fs = creator_features(tables, snaps)
    frame = fs.frame
    for p in pols:
        if p.review_queue.exposure not in frame.columns:
            raise PolicyError(
                f"policy {p.source or p.label}: review_queue.exposure="
                f"{p.review_queue.exposure!r} is not a creator feature; use a column such as "
                f"{_DEFAULT_EXPOSURE!r} (trailing 30-day GMV) or 'sess_viewers_sum_30d'"
            )
    pred = fitted.predict(frame, unseen=unseen)
    n = len(frame)
    creators = frame["creator_id"].astype(str).to_numpy()
    day = frame["snapshot_at"]
    day_codes = ((day - first + settle) // _DAY).to_numpy(dtype=np.int64)
    kept = (day >= first).to_numpy()
    week = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    market = frame["market"].astype(str).to_numpy()
    label, _ = _mature_labels(
        tables, frame, shift=pd.Timedelta(0), horizon=h, resolution_delay=delay, cutoff=cutoff
    )
    honest = pd.array([pd.NA] * n, dtype="boolean")
    if truth is not None:
        state = truth.adversarial_state(creators, day)
        honest = pd.array(state == "none", dtype="boolean")
    gmv_day = _gmv_by_creator_day(tables, creators, day.array)
    base = pd.DataFrame(
        {
            "creator_id": pd.array(creators, dtype="str"),
            "market": pd.array(market, dtype="str"),
            "day": day.array,
            "week": week.array,
            "probability": pred.probability,
        }
    )
    base["day"] = base["day"].astype("datetime64[us, UTC]")
    base["week"] = base["week"].astype("datetime64[us, UTC]")
    n_kept = int(kept.sum())
    n_mature = int(np.isfinite(label[kept]).sum())
    notes = [
        f"{n_kept:,} creator-days ({len(np.unique(creators[kept])):,} creators) from "
        f"{first.date()} to {last.date()} (after a {settle.days}-day warm-up), scored by "
        f"{fitted!r}",
        f"creator labels: confirmed major/critical adversarial violation detected within "
        f"{h.days}D after the day; {n_mature:,} of {n_kept:,} creator-days mature at the export "
        f"time {cutoff:%Y-%m-%d %H:%M} (day + {h.days}D + {delay.days}D resolution delay; "
        f"settings not given come from {origin})",
        "sample: every evaluated creator-day (confirmed violations can reach any creator, "
        "unlike moderator reviews, so no random-audit restriction is needed); session "
        "reviews are not used",
    ]
    if pred.unseen_rows[kept].any():
        notes.append(
            f"{int(pred.unseen_rows[kept].sum()):,} creator-days had category levels unseen "
            "in training"
        )

    per_policy = []
    justified_cache: dict[pd.Timedelta, np.ndarray] = {}
    for p in pols:
        points = health_points(tables, p, frame).to_numpy()
        exposure = frame[p.review_queue.exposure].to_numpy(dtype=np.float64, na_value=np.nan)
        work = base.assign(points=points, exposure=exposure, snapshot_at=frame["snapshot_at"].array)
        work[p.review_queue.exposure] = exposure
        tiers = assign_tiers(work, p, exposure="exposure", thresholds=thresholds)
        work = pd.concat([work, tiers], axis=1)
        rank = _queue_days(work, p, day_codes)
        expiry = p.health.expiry
        if expiry not in justified_cache:
            justified_cache[expiry] = _mature_labels(
                tables,
                frame,
                shift=expiry,
                horizon=expiry + h,
                resolution_delay=delay,
                cutoff=cutoff,
                kinds=VIOLATION_KINDS,
                severities=SEVERITIES,
            )[0]
        just = justified_cache[expiry]
        x = np.where(np.isfinite(exposure), np.maximum(exposure, 0.0), 0.0)
        out = pd.DataFrame(
            {
                "policy": p.label,
                **{
                    c: work[c]
                    for c in ("creator_id", "market", "day", "week", "probability", "points")
                },
                "exposure": exposure,
                **{c: tiers[c] for c in tiers.columns},
                "penalised": work["tier"].isin(p.penalty_tiers).to_numpy(),
                "rewarded": work["tier"]
                .isin([t.name for t in p.tiers if t.action is not None and t.action.is_reward])
                .to_numpy(),
                "queued": rank > 0,
                "queue_rank": pd.array(np.where(rank > 0, rank, None), dtype="Int64"),
                "expected_harm": pred.probability * x,
                "label": pd.array(np.where(np.isfinite(label), label, None), dtype="Int8"),
                "justified": pd.array(np.where(np.isfinite(just), just > 0, None), dtype="boolean"),
                "honest": honest,
                "gmv_day": gmv_day,
            }
        )
        per_policy.append(out)

    # reason codes where any policy acted or queued (the same score for every policy)
    n = int(kept.sum())
    per_policy = [out.loc[kept].reset_index(drop=True) for out in per_policy]
    frame = frame.loc[kept].reset_index(drop=True)
    acted = np.zeros(n, dtype=bool)
    for out in per_policy:
        acted |= (out["action"].notna() | out["queued"]).to_numpy()
    reason_cols: dict[str, np.ndarray] = {}
    for i in range(1, reasons + 1):
        reason_cols[f"reason_{i}_code"] = np.full(n, None, dtype=object)
        reason_cols[f"reason_{i}_text"] = np.full(n, None, dtype=object)
    if acted.any() and reasons > 0:
        contrib = explain(fitted, frame.loc[acted], unseen="allow")
        codes = reason_codes(contrib, k=reasons)
        pos = np.flatnonzero(acted)
        for col in reason_cols:
            reason_cols[col][pos] = codes[col].to_numpy()
    decisions = pd.concat(
        [
            out.assign(**{c: pd.array(v, dtype="str") for c, v in reason_cols.items()})
            for out in per_policy
        ],
        ignore_index=True,
    )
    weekly, tiers_table = _aggregate(decisions, pols, truth is not None)
    queue = decisions.loc[
        decisions["queued"],
        [
            "policy",
            "day",
            "market",
            "queue_rank",
            "creator_id",
            "probability",
            "exposure",
            "expected_harm",
            "tier",
            "rule",
            "label",
            *(c for c in reason_cols),
        ],
    ].rename(columns={"queue_rank": "rank"})
    queue = queue.sort_values(["policy", "day", "market", "rank"], kind="stable").reset_index(
        drop=True
    )
    return BacktestResult(
        policies=tuple(p.label for p in pols),
        start=first,
        end=last,
        horizon=h,
        resolution_delay=delay,
        label_cutoff=cutoff,
        decisions=decisions,
        weekly=weekly,
        tiers=tiers_table,
        queue=queue,
        notes=tuple(notes),
    )


def _aggregate(
    decisions: pd.DataFrame, policies: Sequence[Policy], has_truth: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = decisions
    label = d["label"].astype("float64").to_numpy()
    labelled = np.isfinite(label)
    positive = labelled & (label == 1)
    pen = d["penalised"].to_numpy()
    just = d["justified"].astype("float64").to_numpy()
    honest = d["honest"].astype("float64").to_numpy()
    queued = d["queued"].to_numpy()
    action = d["action"]
    flags = pd.DataFrame(
        {
            "policy": d["policy"],
            "market": d["market"],
            "week": d["week"],
            "creator_id": d["creator_id"],
            "days": 1,
            "pen": pen,
            "rew": d["rewarded"].to_numpy(),
            "changes": (d["changed"] & d["previous_tier"].notna()).to_numpy(),
            "labelled": labelled,
            "positive": positive,
            "pen_labelled": pen & labelled,
            "pen_positive": pen & positive,
            "pen_just_known": pen & np.isfinite(just),
            "pen_justified": pen & (just == 1),
            "pen_dishonest": pen & (honest == 0),
            "actions": action.notna().to_numpy(),
            **{f"n_{k}": (action == k).to_numpy() for k in ACTION_KINDS},
            "queued": queued,
            "queue_labelled": queued & labelled,
            "queue_hits": queued & positive,
            "gmv_affected": np.where(pen, d["gmv_day"].to_numpy(), 0.0),
            "reward_usd": np.where(
                action.isin(REWARD_KINDS).to_numpy(),
                np.nan_to_num(d["action_value"].to_numpy()),
                0.0,
            ),
        }
    )
    keys = ["policy", "market", "week", "creator_id"]
    cw = flags.groupby(keys, sort=True, observed=True).agg(
        days=("days", "sum"),
        pen=("pen", "any"),
        rew=("rew", "any"),
        changes=("changes", "sum"),
        labelled=("labelled", "any"),
        positive=("positive", "any"),
        pen_labelled=("pen_labelled", "any"),
        pen_positive=("pen_positive", "any"),
        pen_just_known=("pen_just_known", "any"),
        pen_justified=("pen_justified", "any"),
        pen_dishonest=("pen_dishonest", "any"),
        actions=("actions", "sum"),
        **{f"n_{k}": (f"n_{k}", "sum") for k in ACTION_KINDS},
        queued=("queued", "sum"),
        queue_labelled=("queue_labelled", "sum"),
        queue_hits=("queue_hits", "sum"),
        gmv_affected=("gmv_affected", "sum"),
        reward_usd=("reward_usd", "sum"),
    )
    cw["false_known"] = cw["pen_just_known"]
    cw["false"] = cw["pen_just_known"] & ~cw["pen_justified"]
    cw["false_truth"] = cw["pen"] & ~cw["pen_dishonest"]
    g = cw.groupby(["policy", "market", "week"], sort=True, observed=True)
    w = pd.DataFrame(
        {
            "creators": g.size(),
            "creator_days": g["days"].sum(),
            "penalised": g["pen"].sum(),
            "rewarded": g["rew"].sum(),
            "tier_changes": g["changes"].sum(),
            "actions": g["actions"].sum(),
            **{f"n_{k}": g[f"n_{k}"].sum() for k in ACTION_KINDS},
            "queued": g["queued"].sum(),
            "queue_labelled": g["queue_labelled"].sum(),
            "queue_hits": g["queue_hits"].sum(),
            "labelled": g["labelled"].sum(),
            "positives": g["positive"].sum(),
            "penalised_labelled": g["pen_labelled"].sum(),
            "true_positives": g["pen_positive"].sum(),
            "false_penalty_labelled": g["false_known"].sum(),
            "false_penalties": g["false"].sum(),
            "false_penalties_truth": g["false_truth"].sum(),
            "gmv_affected": g["gmv_affected"].sum(),
            "reward_usd": g["reward_usd"].sum(),
        }
    ).reset_index()
    ints = [
        c for c in w.columns if c not in ("policy", "market", "week", "gmv_affected", "reward_usd")
    ]
    w[ints] = w[ints].astype(np.int64)
    w["queue_hit_rate"] = w["queue_hits"] / w["queue_labelled"].where(w["queue_labelled"] > 0)
    w["precision"] = w["true_positives"] / w["penalised_labelled"].where(
        w["penalised_labelled"] > 0
    )
    w["recall"] = w["true_positives"] / w["positives"].where(w["positives"] > 0)
    w["false_penalty_rate"] = w["false_penalties"] / w["false_penalty_labelled"].where(
        w["false_penalty_labelled"] > 0
    )
    if has_truth:
        w["false_penalty_rate_truth"] = w["false_penalties_truth"] / w["penalised"].where(
            w["penalised"] > 0
        )
    else:
        w["false_penalties_truth"] = np.nan
        w["false_penalty_rate_truth"] = np.nan
    order = {p.label: i for i, p in enumerate(policies)}
    w = w.sort_values(
        ["policy", "market", "week"],
        key=lambda s: s.map(order) if s.name == "policy" else s,
        kind="stable",
    )
    w = w[list(WEEKLY_COLUMNS)].reset_index(drop=True)

    last = (
        d.sort_values("day", kind="stable")
        .groupby(["policy", "market", "week", "creator_id"], sort=False, observed=True)
        .tail(1)
    )
    creators = (
        last.groupby(["policy", "market", "week", "tier"], observed=True).size().rename("creators")
    )
    days = (
        d.groupby(["policy", "market", "week", "tier"], observed=True).size().rename("creator_days")
    )
    tiers = pd.concat([creators, days], axis=1).fillna(0).astype(np.int64).reset_index()
    rank = {(p.label, t): i for p in policies for i, t in enumerate(p.tier_names)}
    tiers["_o"] = [
        rank.get((p, t), 99) for p, t in zip(tiers["policy"], tiers["tier"], strict=True)
    ]
    tiers["_p"] = tiers["policy"].map(order)
    tiers = tiers.sort_values(["_p", "market", "week", "_o"], kind="stable").drop(
        columns=["_o", "_p"]
    )
    return w, tiers.reset_index(drop=True)
