"""Point-in-time features and labels.

The engine (:func:`trailing_windows`, :func:`active_at`, :func:`latest_before`) works on
any event table and any entity; the two feature sets (:func:`session_features`,
:func:`creator_features`) and the labels (:func:`session_labels`,
:func:`creator_labels`) are built on it. Every feature for a prediction at ``t`` uses
only facts known strictly before ``t``.
"""

from govml.features.build import build_features, data_time_range
from govml.features.catalogue import (
    REASON_GROUPS,
    FeatureSpec,
    ReasonGroup,
    catalogue,
    catalogue_version,
)
from govml.features.creator import (
    ExtraEvents,
    creator_feature_specs,
    creator_features,
    iter_creator_features,
)
from govml.features.featureset import FeatureSet
from govml.features.intervals import active_at, latest_before
from govml.features.labels import (
    CreatorLabels,
    SessionLabels,
    creator_labels,
    creator_snapshots,
    maturity_gap,
    session_labels,
)
from govml.features.session import iter_session_features, session_feature_specs, session_features
from govml.features.session_metrics import session_metrics
from govml.features.windows import AGGREGATIONS, trailing_windows, window_label

__all__ = [
    "AGGREGATIONS",
    "REASON_GROUPS",
    "CreatorLabels",
    "ExtraEvents",
    "FeatureSet",
    "FeatureSpec",
    "ReasonGroup",
    "SessionLabels",
    "active_at",
    "build_features",
    "data_time_range",
    "catalogue",
    "catalogue_version",
    "creator_feature_specs",
    "creator_features",
    "creator_labels",
    "creator_snapshots",
    "iter_creator_features",
    "iter_session_features",
    "latest_before",
    "maturity_gap",
    "session_feature_specs",
    "session_features",
    "session_labels",
    "session_metrics",
    "trailing_windows",
    "window_label",
]
