"""The feature catalogue: every feature's name, meaning, reason group, source and window.

Reason codes (``govml.explain``) group SHAP contributions by the catalogue's reason
groups, so codes stay stable across model versions: they come from here, not from model
internals. The catalogue is built from the same declarations the feature builders
execute, so a feature cannot exist without its entry (tested).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from govml.features.windows import window_label

__all__ = [
    "ReasonGroup",
    "REASON_GROUPS",
    "FeatureSpec",
    "WindowBlock",
    "catalogue",
    "catalogue_version",
]


@dataclass(frozen=True)
class ReasonGroup:
    """A business-language reason: a stable ``code``, a short ``label`` and the sentence
    shown when the group pushes a score up.

    :data:`REASON_GROUPS` holds every group by code, in display order.

    Examples
    --------
    >>> from govml.features import REASON_GROUPS
    >>> group = REASON_GROUPS["VR"]
    >>> group.code, group.label
    ('VR', 'viewer reports')
    >>> list(REASON_GROUPS)[:4]
    ['VR', 'CS', 'EQ', 'EA']
    """

    code: str
    label: str
    sentence: str


_GROUPS = (
    ReasonGroup("VR", "viewer reports", "viewers reported this content far more than usual"),
    ReasonGroup("CS", "content signals", "static or looped frames and little presenter speech"),
    ReasonGroup(
        "EQ", "engagement quality", "viewers left quickly and engaged little with the stream"
    ),
    ReasonGroup(
        "EA",
        "engagement anomalies",
        "audience numbers do not match watch time or interaction (possible fake engagement)",
    ),
    ReasonGroup(
        "CV",
        "conversion anomalies",
        "clicks and orders do not add up (possible off-platform diversion or brushing)",
    ),
    ReasonGroup("SA", "sales pattern", "unusual sales volume or order values"),
    ReasonGroup(
        "RC", "refunds and complaints", "buyers asked for refunds, returned or complained often"
    ),
    ReasonGroup(
        "VH",
        "violation history",
        "active account-health points from recent confirmed violations",
    ),
    ReasonGroup("PN", "penalties", "recent warnings, restrictions or holds on the account"),
    ReasonGroup("RW", "rewards and campaigns", "reward and campaign history of the account"),
    ReasonGroup("RH", "review history", "earlier sessions of this creator were judged low quality"),
    ReasonGroup("AC", "activity", "streaming activity changed sharply"),
    ReasonGroup("AP", "account profile", "account age, type and commission terms"),
    ReasonGroup("MK", "market context", "far from what is normal in this market right now"),
    ReasonGroup("MS", "content model scores", "the content model flagged recent sessions"),
)
#: Reason groups by code, in display order.
REASON_GROUPS: dict[str, ReasonGroup] = {g.code: g for g in _GROUPS}


@dataclass(frozen=True)
class FeatureSpec:
    """One catalogue entry.

    Attributes
    ----------
    name : str
        Feature (column) name.
    description : str
        What the feature measures, in one line.
    reason_group : str
        Code of its :class:`ReasonGroup` (a key of :data:`REASON_GROUPS`).
    source : str
        Table(s) it is computed from.
    window : str or None
        Trailing window label (``"7d"``, ...), None for unwindowed features.
    task : str
        ``"low_quality"`` or ``"adversarial"``.
    categorical : bool, default False

    Examples
    --------
    >>> from govml.features import FeatureSpec
    >>> spec = FeatureSpec("lq_score_mean_7d", "mean content-model score over 7 days",
    ...                    "MS", "content_scores", "7d", "adversarial")
    >>> spec.reason_group, spec.categorical
    ('MS', False)
    """

    name: str
    description: str
    reason_group: str
    source: str
    window: str | None
    task: str
    categorical: bool = False

    def __post_init__(self) -> None:
        if self.reason_group not in REASON_GROUPS:
            raise ValueError(f"unknown reason group {self.reason_group!r} for {self.name}")


@dataclass(frozen=True)
class WindowBlock:
    """A declaration of windowed aggregates over one event table.

    ``values`` maps a value column to ``(description, reason_group)``; the builders run
    :func:`govml.features.trailing_windows` with exactly these settings, and
    :meth:`specs` lists the resulting features for the catalogue.

    Examples
    --------
    >>> from govml.features.catalogue import WindowBlock
    >>> block = WindowBlock("outcomes", "o_", (("is_refund", "refunds", "RC"),),
    ...                     windows=("7D",), aggregations=("sum",), count_group="RC")
    >>> [s.name for s in block.specs("adversarial")]
    ['o_count_7d', 'o_is_refund_sum_7d']
    >>> block.value_columns, block.engine_aggregations
    (['is_refund'], ('count', 'sum'))
    """

    source: str
    prefix: str
    values: tuple[tuple[str, str, str], ...]
    windows: tuple[str, ...]
    aggregations: tuple[str, ...]
    count_group: str | None = None
    count_description: str = "events"
    time_since_last: bool = False

    def specs(self, task: str) -> list[FeatureSpec]:
        """Catalogue entries of the block's features for ``task``, in frame order.

        Examples
        --------
        >>> from govml.features.catalogue import WindowBlock
        >>> block = WindowBlock("sessions", "s_", (("gmv", "GMV", "SA"),),
        ...                     windows=("7D", "30D"), aggregations=("max",))
        >>> [s.window for s in block.specs("adversarial")]
        ['7d', '30d']
        """
        out: list[FeatureSpec] = []
        for w in self.windows:
            wl = window_label(w)
            if self.count_group is not None:
                out.append(
                    FeatureSpec(
                        f"{self.prefix}count_{wl}",
                        f"number of {self.count_description} in the {wl} before",
                        self.count_group,
                        self.source,
                        wl,
                        task,
                    )
                )
            for col, description, group in self.values:
                for agg in self.aggregations:
                    if agg == "count":
                        continue
                    out.append(
                        FeatureSpec(
                            f"{self.prefix}{col}_{agg}_{wl}",
                            f"{agg} of {description} over the {wl} before",
                            group,
                            self.source,
                            wl,
                            task,
                        )
                    )
        if self.time_since_last:
            out.append(
                FeatureSpec(
                    f"{self.prefix}days_since_last",
                    f"days since the last of the {self.count_description}",
                    self.count_group or self.values[0][2],
                    self.source,
                    None,
                    task,
                )
            )
        return out

    @property
    def value_columns(self) -> list[str]:
        """The value columns the block aggregates.

        Examples
        --------
        >>> from govml.features.catalogue import WindowBlock
        >>> WindowBlock("outcomes", "o_", (("is_refund", "refunds", "RC"),), ("7D",),
        ...             ("sum",)).value_columns
        ['is_refund']
        """
        return [v[0] for v in self.values]

    @property
    def engine_aggregations(self) -> tuple[str, ...]:
        """The aggregations passed to the window engine (``count`` first when counted).

        Examples
        --------
        >>> from govml.features.catalogue import WindowBlock
        >>> WindowBlock("outcomes", "o_", (("is_refund", "refunds", "RC"),), ("7D",),
        ...             ("sum", "count"), count_group="RC").engine_aggregations
        ('count', 'sum')
        """
        aggs = tuple(a for a in self.aggregations if a != "count")
        return (("count",) if self.count_group is not None else ()) + aggs


def _frame(specs: Iterable[FeatureSpec]) -> pd.DataFrame:
    rows = [
        {
            "name": s.name,
            "task": s.task,
            "description": s.description,
            "reason_group": s.reason_group,
            "reason": REASON_GROUPS[s.reason_group].label,
            "source": s.source,
            "window": s.window,
            "categorical": s.categorical,
        }
        for s in specs
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "name",
            "task",
            "description",
            "reason_group",
            "reason",
            "source",
            "window",
            "categorical",
        ],
    )


def catalogue(task: str | None = None, *, extra: Sequence[FeatureSpec] = ()) -> pd.DataFrame:
    """The feature catalogue as a DataFrame.

    Parameters
    ----------
    task : {"low_quality", "adversarial"}, optional
        Only this task's features; both when omitted.
    extra : sequence of FeatureSpec
        Entries for user-supplied event tables (see ``ExtraEvents``).

    Returns
    -------
    DataFrame
        Columns ``name, task, description, reason_group, reason, source, window,
        categorical``; one row per feature.

    Examples
    --------
    >>> from govml.features import catalogue
    >>> cat = catalogue("low_quality")
    >>> cat.loc[cat["name"] == "report_rate", "reason"].item()
    'viewer reports'
    """
    from govml.features.creator import creator_feature_specs
    from govml.features.session import session_feature_specs

    specs: list[FeatureSpec] = []
    if task in (None, "low_quality"):
        specs += session_feature_specs()
    if task in (None, "adversarial"):
        specs += creator_feature_specs()
    if task not in (None, "low_quality", "adversarial"):
        from govml._exceptions import FeatureError

        raise FeatureError(
            f"unknown task {task!r}; govml has two tasks: 'low_quality' (sessions) and "
            "'adversarial' (creators)"
        )
    specs += list(extra)
    return _frame(specs)


def catalogue_version(specs: Iterable[FeatureSpec]) -> str:
    """A short content hash of catalogue entries: changes whenever a feature changes.

    A saved model records the version of the features it was trained on, so a scoring
    job can tell when the feature definitions moved under it.

    Examples
    --------
    >>> from govml.features import FeatureSpec, catalogue_version, session_feature_specs
    >>> version = catalogue_version(session_feature_specs())
    >>> len(version), version == catalogue_version(session_feature_specs())
    (12, True)
    >>> extra = FeatureSpec("lq_max_7d", "max content score", "MS", "scores", "7d", "low_quality")
    >>> catalogue_version([*session_feature_specs(), extra]) == version
    False
    """
    payload = json.dumps(
        [[s.name, s.description, s.reason_group, s.source, s.window] for s in specs],
        sort_keys=True,
    ).encode()
    return hashlib.sha256(payload).hexdigest()[:12]
