"""Per-session metrics made comparable: rates per viewer, per minute, per click.

Both feature sets start here: the low-quality task uses a session's own metrics, and both
tasks aggregate earlier sessions' metrics over trailing windows. A ratio whose denominator
is zero is NaN (LightGBM routes missing values explicitly), never infinity.
"""

from __future__ import annotations

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


def _ratio(num: pd.Series, den: pd.Series, scale: float = 1.0) -> np.ndarray:
    n = num.to_numpy(dtype=np.float64)
    d = den.to_numpy(dtype=np.float64)
    out = np.full(len(n), np.nan)
    np.divide(n * scale, d, out=out, where=d > 0)
    return out


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
    s = sessions
    profile = creators.set_index("creator_id")[["market", "category"]]
    market = s["creator_id"].map(profile["market"])
    category = s["creator_id"].map(profile["category"])
    duration_s = (s["ended_at"] - s["started_at"]).dt.total_seconds()
    viewers = s["viewers"]
    out = pd.DataFrame(
        {
            "session_id": s["session_id"],
            "creator_id": s["creator_id"],
            "market": market.astype(creators["market"].dtype),
            "category": category.astype(creators["category"].dtype),
            "started_at": s["started_at"],
            "ended_at": s["ended_at"],
            "duration_min": duration_s.to_numpy(dtype=np.float64) / 60.0,
            "viewers_log": np.log1p(viewers.to_numpy(dtype=np.float64)),
            "peak_ratio": _ratio(s["peak_concurrent_viewers"], viewers),
            "avg_watch_min": s["avg_watch_seconds"].to_numpy(dtype=np.float64) / 60.0,
            "watch_share": _ratio(s["avg_watch_seconds"], duration_s),
            "likes_per_viewer": _ratio(s["likes"], viewers),
            "comments_per_viewer": _ratio(s["comments"], viewers),
            "shares_per_viewer": _ratio(s["shares"], viewers),
            "followers_per_viewer": _ratio(s["new_followers"], viewers),
            "report_rate": _ratio(s["viewer_reports"], viewers, 1000.0),
            "click_rate": _ratio(s["product_clicks"], viewers),
            "order_per_click": _ratio(s["orders"], s["product_clicks"]),
            "gmv_per_viewer": _ratio(s["gmv"], viewers),
            "avg_order_value": _ratio(s["gmv"], s["orders"]),
            "gmv_log": np.log1p(s["gmv"].to_numpy(dtype=np.float64)),
            "products_listed": s["products_listed"].to_numpy(dtype=np.float64),
            "static_frame_share": s["static_frame_share"].to_numpy(dtype=np.float64),
            "speech_share": s["speech_share"].to_numpy(dtype=np.float64),
            "viewers": viewers.to_numpy(dtype=np.float64),
            "orders": s["orders"].to_numpy(dtype=np.float64),
            "product_clicks": s["product_clicks"].to_numpy(dtype=np.float64),
            "viewer_reports": s["viewer_reports"].to_numpy(dtype=np.float64),
            "gmv": s["gmv"].to_numpy(dtype=np.float64),
        },
        index=s.index,
    )
    hour = np.full(len(s), np.nan)
    for code, tz in MARKET_TIMEZONES.items():
        mask = (market == code).to_numpy()
        if mask.any():
            hour[mask] = s.loc[mask, "started_at"].dt.tz_convert(tz).dt.hour.to_numpy()
    out["start_hour_local"] = hour
    return out
