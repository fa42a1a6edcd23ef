"""Per-session metrics made comparable: rates per viewer, per minute, per click.

Both feature sets start here: the low-quality task uses a session's own metrics, and both
tasks aggregate earlier sessions' metrics over trailing windows. A ratio whose denominator
is zero is NaN (LightGBM routes missing values explicitly), never infinity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["session_metrics", "MARKET_TIMEZONES", "SESSION_METRIC_DESCRIPTIONS"]

#: Local time zone of each market, for time-of-day features.
MARKET_TIMEZONES: dict[str, str] = {
    "ID": "Asia/Jakarta",
    "MY": "Asia/Kuala_Lumpur",
    "PH": "Asia/Manila",
    "SG": "Asia/Singapore",
    "TH": "Asia/Bangkok",
    "VN": "Asia/Ho_Chi_Minh",
}

#: column -> (description, reason group code)
SESSION_METRIC_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "duration_min": ("stream duration in minutes", "AC"),
    "viewers_log": ("log(1 + unique viewers)", "EA"),
    "peak_ratio": ("peak concurrent viewers / unique viewers", "EA"),
    "avg_watch_min": ("average watch time per viewer, minutes", "EQ"),
    "watch_share": ("average watch time / stream duration", "EQ"),
    "likes_per_viewer": ("likes per viewer", "EA"),
    "comments_per_viewer": ("comments per viewer", "EQ"),
    "shares_per_viewer": ("shares per viewer", "EQ"),
    "followers_per_viewer": ("new followers per viewer", "EQ"),
    "report_rate": ("viewer reports per 1,000 viewers", "VR"),
    "click_rate": ("product clicks per viewer", "CV"),
    "order_per_click": ("orders per product click", "CV"),
    "gmv_per_viewer": ("GMV (USD) per viewer", "SA"),
    "avg_order_value": ("GMV (USD) per order", "SA"),
    "gmv_log": ("log(1 + GMV in USD)", "SA"),
    "products_listed": ("products listed in the stream", "SA"),
    "static_frame_share": ("share of static or looped frames", "CS"),
    "speech_share": ("share of time with presenter speech", "CS"),
}


def _ratio(num: pd.Series, den: pd.Series | np.ndarray, scale: float = 1.0) -> np.ndarray:
    n = num.to_numpy(dtype=np.float64)
    d = den.to_numpy(dtype=np.float64) if isinstance(den, pd.Series) else den
    out = np.full(len(n), np.nan)
    np.divide(n * scale, d, out=out, where=d > 0)
    return out


def _f64(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype=np.float64)


def _duration_s(s: pd.DataFrame) -> np.ndarray:
    return (s["ended_at"] - s["started_at"]).dt.total_seconds().to_numpy(dtype=np.float64)


# metric -> function of the sessions frame (and a lazily computed duration in seconds)
_METRICS = {
    "duration_min": lambda s, dur: dur() / 60.0,
    "viewers_log": lambda s, dur: np.log1p(_f64(s["viewers"])),
    "peak_ratio": lambda s, dur: _ratio(s["peak_concurrent_viewers"], s["viewers"]),
    "avg_watch_min": lambda s, dur: _f64(s["avg_watch_seconds"]) / 60.0,
    "watch_share": lambda s, dur: _ratio(s["avg_watch_seconds"], dur()),
    "likes_per_viewer": lambda s, dur: _ratio(s["likes"], s["viewers"]),
    "comments_per_viewer": lambda s, dur: _ratio(s["comments"], s["viewers"]),
    "shares_per_viewer": lambda s, dur: _ratio(s["shares"], s["viewers"]),
    "followers_per_viewer": lambda s, dur: _ratio(s["new_followers"], s["viewers"]),
    "report_rate": lambda s, dur: _ratio(s["viewer_reports"], s["viewers"], 1000.0),
    "click_rate": lambda s, dur: _ratio(s["product_clicks"], s["viewers"]),
    "order_per_click": lambda s, dur: _ratio(s["orders"], s["product_clicks"]),
    "gmv_per_viewer": lambda s, dur: _ratio(s["gmv"], s["viewers"]),
    "avg_order_value": lambda s, dur: _ratio(s["gmv"], s["orders"]),
    "gmv_log": lambda s, dur: np.log1p(_f64(s["gmv"])),
    "products_listed": lambda s, dur: _f64(s["products_listed"]),
    "static_frame_share": lambda s, dur: _f64(s["static_frame_share"]),
    "speech_share": lambda s, dur: _f64(s["speech_share"]),
    "viewers": lambda s, dur: _f64(s["viewers"]),
    "orders": lambda s, dur: _f64(s["orders"]),
    "product_clicks": lambda s, dur: _f64(s["product_clicks"]),
    "viewer_reports": lambda s, dur: _f64(s["viewer_reports"]),
    "gmv": lambda s, dur: _f64(s["gmv"]),
}


def metric_values(
    sessions: pd.DataFrame | Mapping[str, pd.Series], names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Only the named metrics (float64 arrays in ``sessions``' row order).

    The same computation :func:`session_metrics` makes, for callers that need a few
    metrics of many sessions (e.g. the market context). ``sessions`` may be a mapping
    of column name to Series (selecting several columns of a DataFrame copies them).
    """
    cache: list[np.ndarray] = []

    def duration() -> np.ndarray:
        if not cache:
            cache.append(_duration_s(sessions))
        return cache[0]

    return {name: _METRICS[name](sessions, duration) for name in names}


def start_hour_local(started_at: pd.Series, market: pd.Series) -> np.ndarray:
    """Hour of day each stream started in its market's time zone (NaN: unknown market)."""
    hour = np.full(len(started_at), np.nan)
    market = market.to_numpy(dtype=object)
    for code, tz in MARKET_TIMEZONES.items():
        mask = market == code
        if mask.any():
            hour[mask] = started_at[mask].dt.tz_convert(tz).dt.hour.to_numpy()
    return hour


def session_metrics(sessions: pd.DataFrame, creators: pd.DataFrame) -> pd.DataFrame:
    """Comparable per-session metrics, with the creator's market and category attached.

    Parameters
    ----------
    sessions, creators : DataFrame
        Validated contract tables.

    Returns
    -------
    DataFrame
        Indexed like ``sessions``: ``session_id, creator_id, market, category,
        started_at, ended_at``, the metrics of ``SESSION_METRIC_DESCRIPTIONS``, the raw
        counts ``viewers, orders, product_clicks, viewer_reports, gmv`` and
        ``start_hour_local`` (hour of day in the market's time zone).

    Examples
    --------
    >>> import govml
    >>> from govml.features.session_metrics import session_metrics
    >>> t = govml.simulate(n_creators=30, n_days=7, seed=0).tables
    >>> m = session_metrics(t.sessions, t.creators)
    >>> bool((m["watch_share"].dropna() >= 0).all())
    True
    """
    from govml.features.history import _CreatorIndex

    index = _CreatorIndex(creators)
    codes = index.codes(sessions["creator_id"])
    return _metrics_frame(sessions, index, codes)


def _metrics_frame(
    sessions: pd.DataFrame,
    index: object,
    codes: np.ndarray,
    *,
    hour: bool = True,
    copy: bool = True,
) -> pd.DataFrame:
    """:func:`session_metrics` with the creators' codes of the sessions already known.

    ``copy=False`` skips consolidating the columns into blocks and shares the id and
    time columns with ``sessions``: for frames that stay internal (e.g. a chunk's).
    """
    s = sessions
    market = index.profile("market", codes)  # type: ignore[attr-defined]
    category = index.profile("category", codes)  # type: ignore[attr-defined]
    columns = {
        "session_id": s["session_id"].array,
        "creator_id": s["creator_id"].array,
        "market": market.array,
        "category": category.array,
        "started_at": s["started_at"].array,
        "ended_at": s["ended_at"].array,
        **metric_values(s, list(_METRICS)),
    }
    if hour:
        columns["start_hour_local"] = start_hour_local(
            pd.Series(s["started_at"].array, copy=False), market
        )
    return pd.DataFrame(columns, index=s.index, copy=copy)
