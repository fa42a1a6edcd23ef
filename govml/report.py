"""The governance dashboard: one self-contained HTML file of summaries and plots.

:func:`build_report` scores a period of the tables with one or more models and
summarises what a governance team looks at, as a :class:`Report` made of
:class:`Section` objects (each a sequence of :class:`Figure`, :class:`Table` and
:class:`Note` blocks). :meth:`Report.write` renders it as one HTML file:

* **overview**: the tables, the models and the periods the report covers;
* **scores**: score distributions per market in the report period, with the models'
  tier cuts and the share of rows in each tier;
* **performance**: precision-recall and calibration curves and the metrics with
  bootstrap intervals, on labelled rows *after* the model's training data ended (for
  the low-quality task: the unbiased random audit and, marked as biased, all reviews);
* **reasons**: which reason codes (:func:`govml.explain.reason_codes`) explain the
  flagged rows of each market, and the reason groups' mean absolute contribution;
* **policy**: a backtest of two governance policies (:func:`govml.policy.backtest`);
* **drift**: a heatmap of population stability (PSI) per feature and market
  (:mod:`govml.monitor`);
* **trends**: the timeline of trend alerts per market x category x day.

Self-contained and small
------------------------
The file works offline: plots are PNG images rendered by matplotlib (Agg, imported
only when a report is built) and embedded as ``data:`` URIs, styles are inline, there
is no script, font or stylesheet to fetch, and a Content-Security-Policy forbids the
page to load anything else. Every block is a *summary*: a histogram, a curve, a table
of at most :data:`MAX_TABLE_ROWS` rows. No per-row data is ever embedded, so the size
does not grow with the data: the quickstart world and a world of ten million sessions
give reports of about the same size. :meth:`Report.write` refuses to write more than
:data:`MAX_REPORT_BYTES` (5 MiB).

Every string that comes from the data or the user (creator ids, market and category
names, model names, titles) is HTML-escaped.

Examples
--------
>>> import pandas as pd
>>> from govml.report import Note, Report, Section, Table
>>> report = Report(
...     title="weekly <governance> report",
...     sections=(
...         Section("summary", "Summary", (
...             Note("two markets reviewed"),
...             Table("queue", pd.DataFrame({"market": ["ID", "TH"], "hits": [12, 7]})),
...         )),
...     ),
... )
>>> html = report.to_html()
>>> "weekly &lt;governance&gt; report" in html, "<script" in html
(True, False)
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import re
import struct
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from govml._exceptions import ConfigError, DataLoadError
from govml._time import to_utc

if TYPE_CHECKING:
    from govml.model import GovmlModel
    from govml.policy import Policy
    from govml.schema import Tables
    from govml.simulation import GroundTruth
    from govml.tracking import TrackingConfig
    from govml.training.config import ExperimentConfig

__all__ = [
    "MAX_REPORT_BYTES",
    "MAX_TABLE_ROWS",
    "MAX_FIGURE_BYTES",
    "Figure",
    "Table",
    "Note",
    "Section",
    "Report",
    "build_report",
    "log_report",
]

#: Largest report :meth:`Report.write` writes (5 MiB).
MAX_REPORT_BYTES = 5 * 1024 * 1024
#: Largest table a report embeds: reports hold summaries, never per-row data.
MAX_TABLE_ROWS = 200
#: Largest single image a report embeds (1 MiB of PNG).
MAX_FIGURE_BYTES = 1024 * 1024

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_MAX_TABLE_COLUMNS = 40
_MAX_SERIES = 8  # lines per plot before the smallest markets are pooled as "other"
_DPI = 100
Progress = Callable[[str], None]


# --------------------------------------------------------------------------- blocks


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


@dataclass(frozen=True)
class Figure:
    """A plot, embedded in the HTML as a PNG ``data:`` URI.

    Attributes
    ----------
    title : str
        Heading shown above the plot.
    png : bytes
        The PNG file content (at most :data:`MAX_FIGURE_BYTES`).
    caption : str
        What the plot shows and how to read it.
    alt : str
        Text alternative (defaults to the title).

    Raises
    ------
    ConfigError
        If ``png`` is not PNG data or is larger than :data:`MAX_FIGURE_BYTES`.

    Examples
    --------
    A matplotlib plot saved as PNG bytes:

    >>> import io
    >>> from matplotlib.figure import Figure as MplFigure
    >>> from govml.report import Figure
    >>> fig = MplFigure(figsize=(4, 3), dpi=50)
    >>> _ = fig.subplots().plot([1, 2, 3], [0.2, 0.5, 0.4])
    >>> buffer = io.BytesIO()
    >>> fig.savefig(buffer, format="png")
    >>> figure = Figure("queue hit rate", buffer.getvalue(), caption="per week")
    >>> figure.size, figure.alt
    ((200, 150), '')
    >>> Figure("chart", b"GIF89a")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ConfigError: figure 'chart': png must be the bytes of a PNG file ...
    """

    title: str
    png: bytes
    caption: str = ""
    alt: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.png, bytes | bytearray) or not bytes(self.png).startswith(
            _PNG_SIGNATURE
        ):
            raise ConfigError(
                f"figure {self.title!r}: png must be the bytes of a PNG file (starting with the "
                "PNG signature); render the plot with savefig(buffer, format='png')"
            )
        if len(self.png) > MAX_FIGURE_BYTES:
            raise ConfigError(
                f"figure {self.title!r} is {len(self.png):,} bytes, above the "
                f"{MAX_FIGURE_BYTES:,}-byte limit of one report image; lower the dpi or the "
                "figure size (reports hold summary plots, not raw data)"
            )
        object.__setattr__(self, "png", bytes(self.png))

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the image in pixels (read from the PNG header).

        Examples
        --------
        >>> import io
        >>> from matplotlib.figure import Figure as MplFigure
        >>> from govml.report import Figure
        >>> buffer = io.BytesIO()
        >>> MplFigure(figsize=(6, 2), dpi=100).savefig(buffer, format="png")
        >>> Figure("empty", buffer.getvalue()).size
        (600, 200)
        """
        return _png_size(self.png)


@dataclass(frozen=True)
class Table:
    """A small summary table (at most :data:`MAX_TABLE_ROWS` rows).

    The frame is copied, so later changes to the caller's frame do not reach the
    report. Floats are shown with four significant digits, NaN as a dash.

    Attributes
    ----------
    title : str
        Heading shown above the table.
    frame : DataFrame
        The rows shown (the index is not shown).
    caption : str
        What the table shows.

    Raises
    ------
    ConfigError
        If ``frame`` is not a DataFrame or has more than :data:`MAX_TABLE_ROWS` rows
        or 40 columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.report import Table
    >>> frame = pd.DataFrame({"market": ["ID", "TH"], "hits": [12, 7]})
    >>> table = Table("queue hits", frame, caption="creators per market")
    >>> frame.loc[0, "hits"] = 0  # the table holds its own copy
    >>> table.frame["hits"].tolist()
    [12, 7]
    >>> Table("sessions", pd.DataFrame({"x": range(500)}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ConfigError: table 'sessions' has 500 rows x 1 columns; a report table ...
    """

    title: str
    frame: pd.DataFrame
    caption: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.frame, pd.DataFrame):
            raise ConfigError(
                f"table {self.title!r}: frame must be a pandas DataFrame, got "
                f"{type(self.frame).__name__}"
            )
        rows, cols = self.frame.shape
        if rows > MAX_TABLE_ROWS or cols > _MAX_TABLE_COLUMNS:
            raise ConfigError(
                f"table {self.title!r} has {rows:,} rows x {cols} columns; a report table "
                f"holds at most {MAX_TABLE_ROWS} rows and {_MAX_TABLE_COLUMNS} columns. "
                "Reports embed summaries, never per-row data: aggregate first (e.g. "
                "groupby(...).agg(...)) or keep the top rows (frame.head(50))"
            )
        object.__setattr__(self, "frame", self.frame.copy())


@dataclass(frozen=True)
class Note:
    """A sentence of context; ``level="warning"`` is highlighted.

    Raises
    ------
    ConfigError
        If ``level`` is not ``"info"`` or ``"warning"``.

    Examples
    --------
    >>> from govml.report import Note, Report, Section
    >>> note = Note("labels after 2025-11-01 are not mature yet", level="warning")
    >>> html = Report("r", (Section("notes", "Notes", (note,)),)).to_html()
    >>> '<p class="note warning">labels after 2025-11-01 are not mature yet</p>' in html
    True
    """

    text: str
    level: Literal["info", "warning"] = "info"

    def __post_init__(self) -> None:
        if self.level not in ("info", "warning"):
            raise ConfigError(f"note level={self.level!r}; use 'info' or 'warning'")


Block = Figure | Table | Note


@dataclass(frozen=True)
class Section:
    """One part of the report, with an anchor ``key`` (lowercase letters, digits, ``-``).

    Attributes
    ----------
    key : str
        The page anchor (``report.html#key``).
    title : str
    blocks : tuple of Figure, Table or Note
        In display order.
    summary : str
        One line shown under the title.

    Raises
    ------
    ConfigError
        If the key is not a valid anchor or a block is not a Figure, Table or Note.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.report import Note, Section, Table
    >>> section = Section("policy-backtest", "Policy backtest", [
    ...     Note("two policies over four weeks"),
    ...     Table("penalties", pd.DataFrame({"policy": ["a@1", "b@1"], "penalised": [3, 8]}))],
    ...     summary="What each policy would have done.")
    >>> len(section.blocks), len(section.tables), len(section.notes), section.figures
    (2, 1, 1, ())
    >>> Section("Policy backtest", "Policy backtest")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ConfigError: section key 'Policy backtest' is not a valid anchor; ...
    """

    key: str
    title: str
    blocks: tuple[Block, ...] = ()
    summary: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY.match(self.key):
            raise ConfigError(
                f"section key {self.key!r} is not a valid anchor; use lowercase letters, "
                "digits and '-', e.g. 'policy-backtest'"
            )
        blocks = tuple(self.blocks)
        for block in blocks:
            if not isinstance(block, Figure | Table | Note):
                raise ConfigError(
                    f"section {self.key!r} holds a {type(block).__name__}; blocks must be "
                    "govml.report.Figure, Table or Note"
                )
        object.__setattr__(self, "blocks", blocks)

    @property
    def figures(self) -> tuple[Figure, ...]:
        """The section's figures, in display order.

        Examples
        --------
        >>> import io
        >>> from matplotlib.figure import Figure as MplFigure
        >>> from govml.report import Figure, Note, Section
        >>> buffer = io.BytesIO()
        >>> MplFigure(figsize=(2, 1), dpi=50).savefig(buffer, format="png")
        >>> section = Section("scores", "Scores", (Figure("histogram", buffer.getvalue()),
        ...                                        Note("one market")))
        >>> [f.title for f in section.figures]
        ['histogram']
        """
        return tuple(b for b in self.blocks if isinstance(b, Figure))

    @property
    def tables(self) -> tuple[Table, ...]:
        """The section's tables, in display order.

        Examples
        --------
        >>> import pandas as pd
        >>> from govml.report import Note, Section, Table
        >>> section = Section("queue", "Queue", (Note("capacity 5"),
        ...                                      Table("hits", pd.DataFrame({"hits": [3]}))))
        >>> [t.title for t in section.tables]
        ['hits']
        """
        return tuple(b for b in self.blocks if isinstance(b, Table))

    @property
    def notes(self) -> tuple[Note, ...]:
        """The section's notes, in display order.

        Examples
        --------
        >>> from govml.report import Note, Section
        >>> section = Section("drift", "Drift", (Note("PSI per market"),
        ...                                      Note("VN drifts", level="warning")))
        >>> [n.level for n in section.notes]
        ['info', 'warning']
        """
        return tuple(b for b in self.blocks if isinstance(b, Note))


# --------------------------------------------------------------------------- HTML

_CSS = """
:root{--fg:#1d2430;--muted:#5b6472;--line:#d9dee6;--accent:#2458a6;--warn:#fff4d6;--warnline:#e0b000}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 "DejaVu Sans",Arial,Helvetica,sans-serif;color:var(--fg);background:#f6f7f9}
header{background:#14213d;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c9d3e6}
nav{background:#fff;border-bottom:1px solid var(--line);padding:8px 28px;position:sticky;top:0}
nav a{color:var(--accent);margin-right:16px;text-decoration:none}
main{padding:8px 28px 40px;max-width:1200px}
section,.facts{background:#fff;border:1px solid var(--line);border-radius:6px;margin:18px 0;padding:14px 20px}
section>h2{margin:0 0 6px;font-size:18px}
.summary{color:var(--muted);margin:0 0 10px}
figure{margin:14px 0}
figure img{max-width:100%;height:auto;border:1px solid var(--line)}
figcaption,.caption{color:var(--muted);font-size:13px;margin-top:4px}
h3{font-size:15px;margin:16px 0 6px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f6}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.time{white-space:nowrap}
.note{border-left:4px solid var(--line);padding:4px 10px;margin:8px 0;color:var(--muted)}
.note.warning{border-color:var(--warnline);background:var(--warn);color:var(--fg)}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0}
dt{color:var(--muted)}dd{margin:0}
footer{color:var(--muted);font-size:12px;padding:0 28px 20px}
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: Any) -> tuple[str, str]:
    """Display text of a table cell and its CSS class (``num``, ``time`` or ``""``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "–", ""
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), ""
    if isinstance(value, int | np.integer):
        return f"{int(value):,}", "num"
    if isinstance(value, float | np.floating):
        v = float(value)
        if not math.isfinite(v):
            return str(v), "num"
        if abs(v) >= 1000:
            return f"{v:,.0f}", "num"
        if v != 0 and abs(v) < 1e-3:
            return f"{v:.3g}", "num"
        return f"{v:.4g}", "num"
    if isinstance(value, pd.Timestamp):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.strftime("%Y-%m-%d"), "time"
        return value.strftime("%Y-%m-%d %H:%M"), "time"
    if isinstance(value, pd.Timedelta):
        return str(value), "time"
    return str(value), ""


def _table_html(table: Table) -> str:
    frame = table.frame
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False, name=None):
        cells = []
        for v in values:
            text, kind = _cell(v)
            cells.append(
                f'<td class="{kind}">{_esc(text)}</td>' if kind else f"<td>{_esc(text)}</td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = f'<p class="caption">{_esc(table.caption)}</p>' if table.caption else ""
    return (
        f"<h3>{_esc(table.title)}</h3>"
        f'<div class="table-wrap"><table data-rows="{len(frame)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{caption}"
    )


def _figure_html(figure: Figure, number: int) -> str:
    width, height = figure.size
    data = base64.b64encode(figure.png).decode("ascii")
    caption = f"<figcaption>{_esc(figure.caption)}</figcaption>" if figure.caption else ""
    return (
        f'<figure id="figure-{number}"><h3>{_esc(figure.title)}</h3>'
        f'<img class="plot" src="data:image/png;base64,{data}" width="{width}" '
        f'height="{height}" alt="{_esc(figure.alt or figure.title)}">{caption}</figure>'
    )


def _note_html(note: Note) -> str:
    return f'<p class="note {note.level}">{_esc(note.text)}</p>'


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Report:
    """A governance report: titled sections of figures, tables and notes.

    Build one with :func:`build_report` (or by hand from :class:`Section` objects),
    render it with :meth:`to_html`, save it with :meth:`write`.

    Attributes
    ----------
    title : str
    sections : tuple of Section
        In display order; keys are unique.
    created_at : Timestamp
        When the report was built (UTC).
    facts : mapping of str to str
        Key facts shown under the title (data, models, period).

    Raises
    ------
    ConfigError
        Two sections share a key, or a section is not a :class:`Section`.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml.report import Note, Report, Section, Table
    >>> report = Report("weekly governance", (
    ...     Section("summary", "Summary", (Note("two markets reviewed"),)),
    ...     Section("queue", "Review queue", (
    ...         Table("hits", pd.DataFrame({"market": ["ID", "TH"], "hits": [12, 7]})),))),
    ...     facts={"period": "2025-11-01 .. 2025-11-28"})
    >>> [s.key for s in report.sections], dict(report.facts), report.created_at.tz
    (['summary', 'queue'], {'period': '2025-11-01 .. 2025-11-28'}, datetime.timezone.utc)
    >>> Report("r", (Section("a", "A"), Section("a", "Again")))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ConfigError: section keys ['a'] are used more than once; ...
    """

    title: str
    sections: tuple[Section, ...]
    created_at: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC"))
    facts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sections = tuple(self.sections)
        for s in sections:
            if not isinstance(s, Section):
                raise ConfigError(
                    f"report sections must be govml.report.Section objects, got {type(s).__name__}"
                )
        keys = [s.key for s in sections]
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        if duplicated:
            raise ConfigError(
                f"section keys {duplicated} are used more than once; every section needs "
                "its own key (it is the page anchor)"
            )
        object.__setattr__(self, "sections", sections)
        object.__setattr__(
            self, "facts", MappingProxyType({str(k): str(v) for k, v in dict(self.facts).items()})
        )
        object.__setattr__(
            self,
            "created_at",
            pd.Timestamp(self.created_at).tz_convert("UTC")
            if pd.Timestamp(self.created_at).tzinfo
            else pd.Timestamp(self.created_at).tz_localize("UTC"),
        )

    def section(self, key: str) -> Section:
        """The section with this key.

        Raises
        ------
        ConfigError
            If no section has that key.

        Examples
        --------
        >>> from govml.report import Note, Report, Section
        >>> report = Report("r", (Section("drift", "Drift", (Note("PSI per market"),)),))
        >>> report.section("drift").title
        'Drift'
        >>> report.section("trends")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        govml._exceptions.ConfigError: the report has no section 'trends'; its sections are ...
        """
        for s in self.sections:
            if s.key == key:
                return s
        raise ConfigError(
            f"the report has no section {key!r}; its sections are {[s.key for s in self.sections]}"
        )

    @property
    def figures(self) -> tuple[Figure, ...]:
        """Every figure, in page order.

        Examples
        --------
        >>> import io
        >>> from matplotlib.figure import Figure as MplFigure
        >>> from govml.report import Figure, Report, Section
        >>> buffer = io.BytesIO()
        >>> MplFigure(figsize=(2, 1), dpi=50).savefig(buffer, format="png")
        >>> png = buffer.getvalue()
        >>> report = Report("r", (Section("a", "A", (Figure("first", png),)),
        ...                       Section("b", "B", (Figure("second", png),))))
        >>> [f.title for f in report.figures]
        ['first', 'second']
        """
        return tuple(f for s in self.sections for f in s.figures)

    def to_html(self) -> str:
        """The report as one self-contained HTML document (no external resources).

        Examples
        --------
        >>> from govml.report import Note, Report, Section
        >>> report = Report("weekly <report>", (Section("summary", "Summary",
        ...                                              (Note("creator C1 & C2"),)),))
        >>> html = report.to_html()
        >>> html.startswith("<!DOCTYPE html>"), "<title>weekly &lt;report&gt;</title>" in html
        (True, True)
        >>> 'href="#summary"' in html, "creator C1 &amp; C2" in html, "<script" in html
        (True, True, False)
        """
        nav = "".join(f'<a href="#{s.key}">{_esc(s.title)}</a>' for s in self.sections)
        facts = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in self.facts.items())
        body = []
        number = 0
        for s in self.sections:
            parts = [f'<section id="{s.key}"><h2>{_esc(s.title)}</h2>']
            if s.summary:
                parts.append(f'<p class="summary">{_esc(s.summary)}</p>')
            for block in s.blocks:
                if isinstance(block, Figure):
                    number += 1
                    parts.append(_figure_html(block, number))
                elif isinstance(block, Table):
                    parts.append(_table_html(block))
                else:
                    parts.append(_note_html(block))
            parts.append("</section>")
            body.append("".join(parts))
        facts_html = f'<div class="facts"><dl>{facts}</dl></div>' if facts else ""
        from govml import __version__

        return (
            "<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="govml {_esc(__version__)}">'
            f"<title>{_esc(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{_esc(self.title)}</h1>"
            f"<p>built {_esc(self.created_at.strftime('%Y-%m-%d %H:%M UTC'))} by govml "
            f"{_esc(__version__)}</p></header><nav>{nav}</nav><main>{facts_html}"
            f"{''.join(body)}</main><footer>Self-contained report: every plot is embedded, "
            "nothing is loaded from the network. Summaries only; no per-row data.</footer>"
            "</body></html>\n"
        )

    def write(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the HTML file atomically (a partial file is never left behind).

        Parameters
        ----------
        path : path-like
            Output file, e.g. ``"report.html"``; missing parent folders are created.
        overwrite : bool, default False
            Replace an existing file.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        DataLoadError
            The file exists and ``overwrite`` is False.
        ConfigError
            The report would be larger than :data:`MAX_REPORT_BYTES`.

        Examples
        --------
        >>> import os, tempfile
        >>> from govml.report import Note, Report, Section
        >>> report = Report("weekly", (Section("summary", "Summary", (Note("all quiet"),)),))
        >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes it
        >>> path = report.write(os.path.join(work.name, "reports", "weekly.html"))
        >>> path.name, path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
        ('weekly.html', True)
        >>> report.write(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        govml._exceptions.DataLoadError: ... already exists; pass overwrite=True (--overwrite) ...
        >>> report.write(path, overwrite=True) == path
        True
        >>> work.cleanup()
        """
        out = Path(path)
        if out.exists() and not overwrite:
            raise DataLoadError(
                f"{out} already exists; pass overwrite=True (--overwrite) to replace it"
            )
        payload = self.to_html().encode("utf-8")
        if len(payload) > MAX_REPORT_BYTES:
            raise ConfigError(
                f"the report is {len(payload) / 2**20:.1f} MiB, above the "
                f"{MAX_REPORT_BYTES / 2**20:.0f} MiB limit; it holds "
                f"{len(self.figures)} figures: drop sections or figures (reports hold "
                "summaries, never per-row data)"
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        # a new file in the same folder, with the permissions the umask gives (mkstemp
        # would make it private), then renamed over the target
        tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "xb") as fh:
                fh.write(payload)
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return out


# --------------------------------------------------------------------------- plotting


def _new_figure(width: float, height: float, ncols: int = 1, nrows: int = 1) -> tuple[Any, Any]:
    """A matplotlib figure on the Agg canvas (no pyplot, no global backend state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols)
    return fig, axes


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _plain(text: Any) -> str:
    """Text for a matplotlib label: ``$`` would start mathtext, so it is escaped."""
    return str(text).replace("$", r"\$")


def _pooled(groups: np.ndarray, limit: int = _MAX_SERIES) -> tuple[np.ndarray, list[str]]:
    """Group labels with all but the ``limit - 1`` largest groups pooled as ``other``.

    Returns the labels per row and the groups in plotting order (largest first).
    """
    labels = pd.Series(groups, dtype=object).fillna("(missing)").astype(str).to_numpy(object)
    counts = pd.Series(labels).value_counts(sort=True)
    order = sorted(counts.index, key=lambda g: (-counts[g], g))
    if len(order) <= limit:
        return labels, order
    keep = set(order[: limit - 1])
    pooled = np.where(pd.Series(labels).isin(keep).to_numpy(), labels, "other")
    return pooled, [*order[: limit - 1], "other"]


def _thin(*arrays: np.ndarray, max_points: int = 2000) -> tuple[np.ndarray, ...]:
    """Every array subsampled to at most ``max_points`` evenly spaced points (ends kept)."""
    n = len(arrays[0])
    if n <= max_points:
        return arrays
    idx = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    return tuple(a[idx] for a in arrays)


def _log_bins(p: np.ndarray, n: int = 40) -> np.ndarray:
    """Log-spaced bins from a power of ten below nearly every score (at least 1e-6) to 1."""
    positive = p[p > 0]
    low = float(np.quantile(positive, 0.001)) if len(positive) else 1e-4
    low = 10.0 ** math.floor(math.log10(min(max(low, 1e-6), 0.1)))
    return np.logspace(math.log10(low), 0.0, n + 1)


def _distribution_figure(
    title: str, probability: np.ndarray, market: np.ndarray, thresholds: Mapping[str, float]
) -> Figure:
    fig, ax = _new_figure(8.0, 3.6)
    groups, order = _pooled(market)
    p = np.asarray(probability, dtype=np.float64)
    bins = _log_bins(p)
    p = np.clip(p, bins[0], 1.0)
    for g in order:
        values = p[groups == g]
        counts, _ = np.histogram(values, bins=bins)
        ax.stairs(counts / max(len(values), 1), bins, label=_plain(f"{g} ({len(values):,})"))
    for name, cut in sorted(thresholds.items(), key=lambda kv: kv[1]):
        ax.axvline(max(cut, bins[0]), color="black", linestyle="--", linewidth=1)
        ax.annotate(
            _plain(name),
            (max(cut, bins[0]), 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=8,
        )
    ax.set_xscale("log")
    ax.set_xlabel(f"calibrated probability (log scale; scores below {bins[0]:g} counted there)")
    ax.set_ylabel("share of the market's rows")
    ax.legend(title="market (rows)", fontsize=8, title_fontsize=8, ncols=2)
    png = _png(fig)
    return Figure(
        title,
        png,
        caption="Histogram of scores per market in the report period; dashed lines are the "
        "model's tier cuts (a row gets the highest tier whose cut it reaches).",
    )


def _distribution_table(
    title: str,
    probability: np.ndarray,
    market: np.ndarray,
    tier: np.ndarray,
    tiers: Sequence[str],
) -> Table:
    frame = pd.DataFrame(
        {
            "market": pd.Series(market, dtype=object).fillna("(missing)").astype(str),
            "p": probability,
        }
    )
    for name in tiers:
        frame[f"share {name}"] = (np.asarray(tier) == name).astype(np.float64)
    agg = {
        "rows": ("p", "size"),
        "mean": ("p", "mean"),
        "p50": ("p", "median"),
        "p90": ("p", lambda s: s.quantile(0.9)),
        "p99": ("p", lambda s: s.quantile(0.99)),
        **{f"share {name}": (f"share {name}", "mean") for name in tiers},
    }
    by_market = frame.groupby("market", sort=True).agg(**agg).reset_index()
    overall = frame.assign(market="all markets").groupby("market").agg(**agg).reset_index()
    out = pd.concat([overall, by_market], ignore_index=True)
    if len(out) > MAX_TABLE_ROWS:
        out = out.sort_values("rows", ascending=False, kind="stable").head(MAX_TABLE_ROWS)
    return Table(
        title,
        out,
        caption="Score quantiles and the share of rows in each tier, per market.",
    )


def _calibration_points(y: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[np.ndarray, ...]:
    """Mean score and observed rate in equal-mass bins (ties share a bin)."""
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    idx = np.searchsorted(edges[1:-1], p, side="right")
    n = np.bincount(idx, minlength=len(edges) - 1).astype(np.float64)
    keep = n > 0
    mean_p = np.bincount(idx, weights=p, minlength=len(n))[keep] / n[keep]
    rate = np.bincount(idx, weights=y, minlength=len(n))[keep] / n[keep]
    return mean_p, rate, n[keep]


def _curves_figure(title: str, samples: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> Figure:
    """PR curve (left) and reliability diagram (right), one line per sample."""
    from sklearn.metrics import precision_recall_curve

    fig, (pr, cal) = _new_figure(9.0, 3.8, ncols=2)
    top = 0.0
    for name, y, p in samples:
        y = np.asarray(y, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        if len(y) == 0:
            continue
        if 0 < y.sum() < len(y):
            precision, recall, _ = precision_recall_curve(y, p)
            recall, precision = _thin(recall, precision)
            (line,) = pr.plot(recall, precision, label=_plain(f"{name} (n={len(y):,})"))
            pr.axhline(y.mean(), color=line.get_color(), linestyle=":", linewidth=1)
        mean_p, rate, _ = _calibration_points(y, p)
        cal.plot(mean_p, rate, marker="o", markersize=3, label=_plain(name))
        top = max(top, float(mean_p.max(initial=0)), float(rate.max(initial=0)))
    pr.set(
        xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="precision-recall"
    )
    top = min(1.0, max(top * 1.1, 0.05))
    cal.plot([0, top], [0, top], linestyle="--", color="grey", linewidth=1, label="perfect")
    cal.set(
        xlabel="mean predicted probability",
        ylabel="observed positive rate",
        xlim=(0, top),
        ylim=(0, top),
        title="calibration (10 equal-mass bins)",
    )
    for ax in (pr, cal):
        ax.legend(fontsize=8)
    return Figure(
        title,
        _png(fig),
        caption="Left: precision against recall as the score threshold falls; dotted lines "
        "are each sample's positive rate (what a random ranking achieves). Right: observed "
        "rate against mean predicted probability in bins holding equal numbers of rows; "
        "points on the dashed diagonal are well calibrated.",
    )


def _metrics_table(title: str, evaluation: Any) -> Table:
    from govml.training.metrics import METRIC_NAMES

    rows = []
    for s in evaluation.segments:
        row: dict[str, Any] = {
            "segment": s.segment,
            "rows": s.n_rows,
            "positive": s.n_positive,
            "days": s.n_days,
        }
        for name in METRIC_NAMES:
            heading = _METRIC_LABELS.get(name, name)
            if name == "recall_at_precision":
                heading = f"recall@P{evaluation.target_precision:g}"
            text = str(getattr(s, name))
            row[heading] = "–" if text == "nan" else text
        rows.append(row)
    return Table(
        title,
        pd.DataFrame(rows).head(MAX_TABLE_ROWS),
        caption=f"{evaluation.sample}; {evaluation.confidence:.0%} day-block bootstrap "
        f"intervals ({evaluation.n_bootstrap} resamples); precision@k reviews "
        f"{_capacity(evaluation.capacity)} rows per day.",
    )


_METRIC_LABELS = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier",
    "ece": "ECE",
    "precision_at_k": "precision@k",
}


def _capacity(capacity: Any) -> str:
    if isinstance(capacity, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in capacity.items())
    return str(capacity)


def _reason_blocks(
    label: str, codes: np.ndarray, market: np.ndarray, importance: pd.DataFrame, n_flagged: int
) -> list[Block]:
    """Top reason of each flagged row, per market (stacked bars and a table)."""
    from govml.features.catalogue import REASON_GROUPS

    labels = dict(zip(importance["reason_code"], importance["reason_label"], strict=False))
    codes = pd.Series(codes, dtype=object).fillna("(none)").astype(str).to_numpy(object)
    markets, market_order = _pooled(market, limit=12)
    frame = pd.DataFrame({"market": markets, "code": codes})
    shares = pd.crosstab(frame["market"], frame["code"], normalize="index")
    overall = frame["code"].value_counts(normalize=True)
    code_order = [c for c in overall.sort_values(ascending=False, kind="stable").index]
    shares = shares.reindex(index=market_order, columns=code_order, fill_value=0.0)

    fig, ax = _new_figure(8.0, 0.45 * len(market_order) + 1.6)
    left = np.zeros(len(market_order))
    cmap = _palette(len(code_order))
    for j, code in enumerate(code_order):
        width = shares[code].to_numpy()
        name = labels.get(code) or (REASON_GROUPS[code].label if code in REASON_GROUPS else code)
        ax.barh(
            [_plain(m) for m in market_order],
            width,
            left=left,
            color=cmap[j],
            label=_plain(f"{code}: {name}"),
        )
        left += width
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="share of the market's flagged rows")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="top reason")
    figure = Figure(
        f"{label}: top reason of flagged rows by market",
        _png(fig),
        caption="Each bar splits one market's flagged rows (tier above 'none') by the reason "
        "code that pushed the score up the most.",
    )
    table = pd.DataFrame(
        {
            "reason_code": code_order,
            "reason": [
                labels.get(c) or (REASON_GROUPS[c].label if c in REASON_GROUPS else c)
                for c in code_order
            ],
            "share of flagged rows": [float(overall[c]) for c in code_order],
        }
    )
    for m in market_order:
        table[f"share in {m}"] = [float(shares.loc[m, c]) for c in code_order]
    mean_abs = importance.set_index("reason_code")["mean_abs_contribution"]
    table["mean |contribution| (log-odds)"] = [float(mean_abs.get(c, np.nan)) for c in code_order]
    return [
        figure,
        Table(
            f"{label}: reason codes of flagged rows",
            table.head(MAX_TABLE_ROWS),
            caption=f"{n_flagged:,} flagged rows explained; mean |contribution| is the reason "
            "group's average absolute contribution over them (exact Tree SHAP).",
        ),
    ]


def _palette(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class _Scored:
    """One model's scores on the report period and on its evaluation rows (never embedded)."""

    label: str
    model: GovmlModel
    config: ExperimentConfig
    period: pd.DataFrame  # features + market + probability + tier of the report period
    time_col: str
    n_unseen: int
    unseen_levels: Mapping[str, tuple[str, ...]]
    evaluation: Any  # Evaluation, ReviewedEvaluation or None
    eval_frame: pd.DataFrame | None  # label, sample, probability of the evaluation rows
    eval_notes: tuple[str, ...]
    config_origin: str = "as trained"  # where `config` came from (shown in the overview)
    config_warning: str | None = None  # the given config's labels differ from training


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def _policies(policies: Any) -> tuple[Policy, ...]:
    from govml.policy import Policy, load_policy

    if policies is None:
        return ()
    if isinstance(policies, Policy | str | os.PathLike):
        policies = [policies]
    return tuple(p if isinstance(p, Policy) else load_policy(p) for p in policies)


def _models(models: Any) -> tuple[GovmlModel, ...]:
    from govml.model import GovmlModel

    items = (models,) if isinstance(models, GovmlModel) else tuple(models or ())
    if not items:
        raise ConfigError(
            "build_report needs at least one model; pass a GovmlModel or a list of them "
            "(load one with govml.tracking.load_model('models:/govml-low_quality@champion'))"
        )
    for m in items:
        if not isinstance(m, GovmlModel):
            raise ConfigError(
                f"models must be GovmlModel objects, got {type(m).__name__}; load a saved "
                "model with govml.tracking.load_model(uri) or GovmlModel.load(path)"
            )
    return items


def _model_label(model: GovmlModel, models: Sequence[GovmlModel]) -> str:
    md = model.metadata
    label = f"{md.name} v{md.version}"
    if sum(1 for m in models if f"{m.metadata.name} v{m.metadata.version}" == label) > 1:
        label = f"{label} #{[id(m) for m in models].index(id(model)) + 1}"
    return label


#: The settings that decide which rows a task's model is evaluated on and what their
#: labels mean; a given config that differs from the model's training config in one of
#: them is reported (evaluation settings such as capacity may differ freely).
_LABEL_SETTINGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "adversarial": (
            "labels.horizon",
            "labels.resolution_delay",
            "snapshots.freq",
            "snapshots.active_within",
        ),
        "low_quality": ("labels.review_delay",),
    }
)


def _label_differences(given: ExperimentConfig, trained: ExperimentConfig) -> list[str]:
    """``field='given' (trained with 'x')`` for each label setting that differs."""
    out = []
    for name in _LABEL_SETTINGS[trained.task]:
        section, key = name.split(".")
        a = getattr(getattr(given, section), key)
        b = getattr(getattr(trained, section), key)
        if pd.Timedelta(a) != pd.Timedelta(b):  # '30D' and '720h' are the same horizon
            out.append(f"{name}={a!r} (trained with {b!r})")
    return out


def _label_text(config: ExperimentConfig) -> str:
    """The label settings of a config, as the overview states them."""
    if config.task == "adversarial":
        return (
            f"horizon {config.labels.horizon}, resolution delay "
            f"{config.labels.resolution_delay}, snapshots every {config.snapshots.freq}"
        )
    return f"review delay {config.labels.review_delay}"


def _configs(
    configs: Mapping[str, ExperimentConfig] | None, models: Sequence[GovmlModel]
) -> list[tuple[ExperimentConfig, str, str | None]]:
    """Per model: the config its rows are labelled and evaluated with, its origin, a warning.

    A config given for the model's task wins (as before); else the model's stored
    training config; else the built-in default (models saved before govml stored it).
    A given config whose label settings differ from the model's training config is used
    as asked, with a warning that the report states.
    """
    from govml.training.config import ExperimentConfig, default_config

    given = dict(configs or {})
    for task, cfg in given.items():
        if not isinstance(cfg, ExperimentConfig) or cfg.task != task:
            raise ConfigError(
                f"configs[{task!r}] must be the ExperimentConfig of task {task!r} (the labels "
                "and snapshot settings the model was trained with), got "
                f"{getattr(cfg, 'task', type(cfg).__name__)!r}"
            )
    out: list[tuple[ExperimentConfig, str, str | None]] = []
    for m in models:
        task = m.metadata.task
        trained = m.training_config()
        if task not in given:
            if trained is not None:
                out.append((trained, "as trained", None))
            else:
                out.append((default_config(task), "defaults: no training config stored", None))
            continue
        cfg = given[task]
        if trained is None:
            out.append((cfg, "given; no training config stored", None))
            continue
        differ = _label_differences(cfg, trained)
        if not differ:
            out.append((cfg, "given, same labels as trained", None))
            continue
        label = _model_label(m, models)
        effects = []
        if any(d.startswith("labels.") for d in differ):
            effects.append("its performance and policy backtest count other labels")
        if any(d.startswith("snapshots.") for d in differ):
            effects.append("its scores, performance and drift use another snapshot grid")
        warning = (
            f"{label} is evaluated with the configs[{task!r}] given to the report, which "
            f"differs from the model's training config: {', '.join(differ)}. So "
            f"{' and '.join(effects)} than the model was trained for; leave "
            f"configs[{task!r}] out to use the model's own settings "
            "(model.training_config()), or change only its evaluation settings"
        )
        out.append((cfg, "given, labels differ from training", warning))
    return out


def _feature_key(task: str, config: ExperimentConfig) -> Any:
    """Period features are shared by the models of a task that use the same snapshot grid."""
    if task == "low_quality":
        return task
    return (task, pd.Timedelta(config.snapshots.freq), pd.Timedelta(config.snapshots.active_within))


def _utc(value: Any, name: str) -> pd.Timestamp:
    return to_utc(
        value,
        lambda: ConfigError(
            f"{name}={value!r} is not a timestamp; write e.g. '2026-01-31' or "
            "'2026-01-31T00:00:00Z' (dates without a timezone are UTC)"
        ),
    )


def _markets(tables: Tables, frame: pd.DataFrame) -> np.ndarray:
    if "market" in frame:
        return frame["market"].astype(object).to_numpy(object)
    lookup = tables.creators.set_index("creator_id")["market"]
    return frame["creator_id"].map(lookup).astype(object).to_numpy(object)


def _period_features(
    tables: Tables, task: str, config: ExperimentConfig, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[pd.DataFrame, str]:
    """The task's point-in-time features for the rows of ``[start, end)``."""
    from govml.features import creator_features, creator_snapshots, session_features

    if task == "low_quality":
        ended = tables.sessions["ended_at"]
        ids = tables.sessions.loc[(ended >= start) & (ended < end), "session_id"]
        fs = session_features(tables, session_ids=ids)
    else:
        snaps = creator_snapshots(
            tables,
            start=start,
            end=end,
            freq=config.snapshots.freq,
            active_within=config.snapshots.active_within,
        )
        fs = creator_features(tables, snaps)
    return fs.frame, fs.time_col


def _latest_known(tables: Tables) -> pd.Timestamp:
    """The latest known-at time of sessions, reviews and violation resolutions."""
    latest = [
        frame[col].max()
        for frame, col in (
            (tables.sessions, "ended_at"),
            (tables.reviews, "reviewed_at"),
            (tables.violations, "resolved_at"),
        )
        if len(frame) and frame[col].notna().any()
    ]
    return max(latest) + pd.Timedelta(microseconds=1)


def _evaluation_rows(
    tables: Tables, model: GovmlModel, config: ExperimentConfig, *, cutoff: pd.Timestamp
) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """Labelled rows mature at ``cutoff`` whose time is after the model's training data.

    Returns the frame (features, ``label``, ``sample_reason`` for sessions), its time
    column and notes on what was used.
    """
    from govml.features import (
        creator_features,
        creator_labels,
        creator_snapshots,
        session_features,
        session_labels,
    )

    fp = model.metadata.fingerprint
    after = None if fp is None or fp.time_max is None else fp.time_max
    notes: list[str] = []
    if after is None:
        notes.append(
            "the model records no training period, so these rows may include training "
            "rows: read the curves as in-sample"
        )
    if model.metadata.task == "low_quality":
        labels = session_labels(tables, cutoff=cutoff).frame
        if after is not None:
            labels = labels[labels["ended_at"] > after]
        frame = session_features(tables, session_ids=labels["session_id"]).frame
        frame = frame.merge(
            labels[["session_id", "label", "sample_reason"]],
            on="session_id",
            how="inner",
            validate="one_to_one",
        )
        frame["sample_reason"] = frame["sample_reason"].astype(str)
        time_col = "ended_at"
        what = "reviewed sessions"
    else:
        first = tables.sessions["ended_at"].min().normalize()
        start = first if after is None else after.floor("D") + pd.Timedelta(days=1)
        if start >= cutoff:
            return pd.DataFrame(), "snapshot_at", (*notes, "no snapshot after the training data")
        snaps = creator_snapshots(
            tables,
            start=start,
            end=cutoff,
            freq=config.snapshots.freq,
            active_within=config.snapshots.active_within,
        )
        lab = creator_labels(
            tables,
            snaps,
            horizon=config.labels.horizon,
            resolution_delay=config.labels.resolution_delay,
            cutoff=cutoff,
        ).frame
        frame = creator_features(tables, lab[["creator_id", "snapshot_at"]]).frame
        frame = frame.assign(label=lab["label"].to_numpy())
        time_col = "snapshot_at"
        what = (
            f"creator snapshots with mature labels (horizon {config.labels.horizon}, "
            f"resolution delay {config.labels.resolution_delay})"
        )
    since = "" if after is None else f" after the training data ({after:%Y-%m-%d %H:%M})"
    notes.insert(0, f"{len(frame):,} {what}{since}, labels as known at {cutoff:%Y-%m-%d %H:%M} UTC")
    return frame, time_col, tuple(notes)


def _evaluate(frame: pd.DataFrame, time_col: str, config: ExperimentConfig) -> Any:
    from govml.training.metrics import evaluate, evaluate_reviewed

    e = config.evaluation
    common: dict[str, Any] = dict(
        score_col="probability",
        label_col="label",
        time_col=time_col,
        market_col="market",
        capacity=e.capacity,
        target_precision=e.target_precision,
        n_bootstrap=e.n_bootstrap,
        seed=config.model.seed,
    )
    if "sample_reason" in frame:
        audit = float((frame["sample_reason"] == "random_audit").mean())
        audit_capacity = max(1, round(e.capacity * audit)) if isinstance(e.capacity, int) else None
        return evaluate_reviewed(
            frame, sample_col="sample_reason", audit_capacity=audit_capacity, **common
        )
    return evaluate(frame, sample="all mature snapshots", **common)


def _score_model(
    tables: Tables,
    model: GovmlModel,
    label: str,
    config: ExperimentConfig,
    period: tuple[pd.DataFrame, str],
    *,
    cutoff: pd.Timestamp,
    progress: Progress | None,
    config_origin: str = "as trained",
    config_warning: str | None = None,
) -> _Scored:
    frame, time_col = period
    _say(progress, f"scoring {len(frame):,} {model.metadata.task} rows with {label}")
    pred = model.predict(frame, unseen="allow")
    scored = frame.assign(
        market=_markets(tables, frame), probability=pred.probability, tier=pred.tier
    )
    _say(progress, f"evaluating {label} on labelled rows after its training data")
    rows, eval_time, notes = _evaluation_rows(tables, model, config, cutoff=cutoff)
    evaluation = None
    eval_frame = None
    if len(rows):
        p = model.predict_proba(rows, unseen="allow")
        eval_frame = pd.DataFrame(
            {
                eval_time: rows[eval_time].to_numpy(),
                "market": pd.Series(_markets(tables, rows), dtype=object).astype(str).to_numpy(),
                "label": rows["label"].to_numpy(np.int8),
                "probability": p,
            }
        )
        if "sample_reason" in rows:
            eval_frame["sample_reason"] = rows["sample_reason"].to_numpy()
        if eval_frame["label"].sum() > 0:
            evaluation = _evaluate(eval_frame, eval_time, config)
        else:
            notes = (*notes, "no positive label among them, so ranking metrics are undefined")
    return _Scored(
        label=label,
        model=model,
        config=config,
        period=scored,
        time_col=time_col,
        n_unseen=int(np.asarray(pred.unseen_rows).sum()),
        unseen_levels=pred.unseen_levels,
        evaluation=evaluation,
        eval_frame=eval_frame,
        eval_notes=notes,
        config_origin=config_origin,
        config_warning=config_warning,
    )


# --------------------------------------------------------------------------- sections


def _range(series: pd.Series) -> str:
    s = series.dropna()
    if s.empty:
        return "–"
    return f"{s.min():%Y-%m-%d} .. {s.max():%Y-%m-%d}"


def _overview_section(
    tables: Tables,
    scored: Sequence[_Scored],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> Section:
    known_at = {
        "creators": "onboarded_at",
        "sessions": "ended_at",
        "outcomes": "occurred_at",
        "violations": "detected_at",
        "actions": "taken_at",
        "reviews": "reviewed_at",
    }
    data = pd.DataFrame(
        [
            {
                "table": name,
                "rows": len(frame),
                "known at": known_at.get(name, ""),
                "range": _range(frame[known_at[name]]) if known_at.get(name) in frame else "–",
            }
            for name, frame in tables.items()
        ]
    )
    models = []
    for s in scored:
        md = s.model.metadata
        fp = md.fingerprint
        models.append(
            {
                "model": s.label,
                "task": md.task,
                "created": md.created_at,
                "trained on": "–"
                if fp is None or fp.time_min is None
                else f"{fp.time_min:%Y-%m-%d} .. {fp.time_max:%Y-%m-%d} ({fp.n_rows:,} rows)",
                "label rate": np.nan if fp is None or fp.label_rate is None else fp.label_rate,
                "tier cuts": ", ".join(f"{k} ≥ {v:g}" for k, v in md.thresholds.items()) or "–",
                "features": len(md.features),
                "labels": f"{_label_text(s.config)} ({s.config_origin})",
            }
        )
    return Section(
        "overview",
        "Overview",
        (
            Table(
                "tables",
                data,
                caption="Rows per contract table and the range of its known-at time.",
            ),
            Table(
                "models",
                pd.DataFrame(models),
                caption="labels: the label and snapshot settings each model is evaluated "
                "with, and where they come from.",
            ),
            *(Note(s.config_warning, "warning") for s in scored if s.config_warning),
            Note(
                f"Report period {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC: score "
                "distributions, reasons, policy, drift and trends describe rows of this "
                "period; model performance uses labelled rows after each model's training "
                "data."
            ),
        ),
        summary="What the report covers.",
    )


def _scores_section(scored: Sequence[_Scored]) -> Section:
    blocks: list[Block] = []
    for s in scored:
        thresholds = s.model.metadata.thresholds
        tiers = [k for k, _ in sorted(thresholds.items(), key=lambda kv: -kv[1])]
        if len(s.period) == 0:
            blocks.append(
                Note(f"{s.label}: no {s.model.metadata.task} rows in the period", "warning")
            )
            continue
        p = s.period["probability"].to_numpy()
        market = s.period["market"].to_numpy(object)
        blocks.append(
            _distribution_figure(f"{s.label}: score distribution by market", p, market, thresholds)
        )
        blocks.append(
            _distribution_table(
                f"{s.label}: scores by market", p, market, s.period["tier"].to_numpy(), tiers
            )
        )
        blocks.append(_top_table(s))
        if s.n_unseen:
            levels = "; ".join(f"{k}: {', '.join(v[:5])}" for k, v in s.unseen_levels.items())
            blocks.append(
                Note(
                    f"{s.label}: {s.n_unseen:,} rows hold category levels never seen in "
                    f"training ({levels}); they were scored as 'none of the known levels'",
                    "warning",
                )
            )
    return Section(
        "scores",
        "Score distributions",
        tuple(blocks),
        summary="How the models score the rows of the report period, per market.",
    )


def _top_table(s: _Scored, n: int = 20) -> Table:
    """The ``n`` highest-scoring rows of the period (keys, market, score, tier)."""
    period = s.period
    if s.time_col == "snapshot_at":  # a creator once, at its latest snapshot
        latest = period.sort_values(s.time_col, kind="stable").drop_duplicates(
            "creator_id", keep="last"
        )
        what = "creators at their latest snapshot"
    else:
        latest = period
        what = "sessions"
    keys = [
        c for c in ("session_id", "creator_id", s.time_col, "market", "category") if c in latest
    ]
    top = latest.nlargest(n, "probability", keep="first")[[*keys, "probability", "tier"]]
    return Table(
        f"{s.label}: the {len(top)} highest-scoring {what}",
        top.reset_index(drop=True),
        caption="The rows a reviewer would look at first in the report period.",
    )


def _performance_section(scored: Sequence[_Scored]) -> Section:
    from govml.training.metrics import ReviewedEvaluation

    blocks: list[Block] = []
    for s in scored:
        if s.config_warning:
            blocks.append(Note(s.config_warning, "warning"))
        if s.eval_frame is None or s.evaluation is None:
            text = "; ".join(s.eval_notes) or "no labelled rows"
            blocks.append(
                Note(
                    f"{s.label}: no evaluation possible ({text}). Train on an earlier "
                    "cutoff to leave labelled rows for the report.",
                    "warning",
                )
            )
            continue
        f = s.eval_frame
        if isinstance(s.evaluation, ReviewedEvaluation):
            audit = f[f["sample_reason"] == "random_audit"]
            samples = [
                (
                    "random audit (unbiased)",
                    audit["label"].to_numpy(),
                    audit["probability"].to_numpy(),
                ),
                ("all reviewed (biased)", f["label"].to_numpy(), f["probability"].to_numpy()),
            ]
            evaluations = [s.evaluation.random_audit, s.evaluation.all_reviewed]
        else:
            samples = [("all mature snapshots", f["label"].to_numpy(), f["probability"].to_numpy())]
            evaluations = [s.evaluation]
        blocks.append(_curves_figure(f"{s.label}: precision-recall and calibration", samples))
        for ev in evaluations:
            blocks.append(_metrics_table(f"{s.label}: metrics on {ev.sample}", ev))
        blocks.extend(Note(f"{s.label}: {n}") for n in s.eval_notes)
    return Section(
        "performance",
        "Model performance",
        tuple(blocks),
        summary="Ranking and calibration on labelled rows the models never trained on.",
    )


def _reasons_section(scored: Sequence[_Scored], *, max_rows: int, seed: int) -> Section:
    from govml.explain import explain, importance_by_reason, reason_codes

    blocks: list[Block] = []
    for s in scored:
        flagged = (
            np.flatnonzero(s.period["tier"].to_numpy() != "none")
            if len(s.period)
            else np.array([], dtype=np.int64)
        )
        if len(flagged) == 0:
            blocks.append(
                Note(f"{s.label}: no row of the period reached a tier; nothing to explain")
            )
            continue
        n_flagged = len(flagged)
        if max_rows and len(flagged) > max_rows:
            rng = np.random.default_rng(seed)
            flagged = np.sort(rng.choice(flagged, size=max_rows, replace=False))
        rows = s.period.iloc[flagged]
        contrib = explain(s.model, rows, unseen="allow")
        codes = reason_codes(contrib, k=1)["reason_1_code"].to_numpy(object)
        importance = importance_by_reason(contrib)
        blocks.extend(
            _reason_blocks(
                s.label, codes, rows["market"].to_numpy(object), importance, len(flagged)
            )
        )
        if len(flagged) < n_flagged:
            blocks.append(
                Note(
                    f"{s.label}: reasons computed on a random sample of {len(flagged):,} of "
                    f"the {n_flagged:,} flagged rows (seed {seed})"
                )
            )
    return Section(
        "reasons",
        "Reason codes",
        tuple(blocks),
        summary="Why the flagged rows of the period scored high, in business terms.",
    )


_POLICY_METRICS = (
    "creator_weeks",
    "penalised",
    "share_penalised",
    "rewarded",
    "tier_changes_per_creator_week",
    "actions",
    "queued",
    "queue_hit_rate",
    "positives",
    "precision",
    "recall",
    "false_penalties",
    "false_penalty_rate",
    "false_penalty_rate_truth",
    "gmv_affected",
    "reward_usd",
)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(np.float64)


def _backtest_window(
    tables: Tables, model: GovmlModel, config: ExperimentConfig, days: int
) -> tuple[pd.Timestamp, pd.Timestamp, str]:
    """The latest ``days`` days whose creator labels are mature at the export time.

    The window starts after the model's training data when that leaves a week or more,
    so the risk rules are measured out of sample.
    """
    from govml.schema import CONTRACT

    export = max(
        tables[name][spec.known_at].max()
        for name, spec in CONTRACT.items()
        if len(tables[name]) and spec.known_at in tables[name].columns
    ) + pd.Timedelta(microseconds=1)
    horizon = pd.Timedelta(config.labels.horizon)
    delay = pd.Timedelta(config.labels.resolution_delay)
    earliest = tables.sessions["ended_at"].min().floor("D") + pd.Timedelta(days=15)
    latest_day = tables.sessions["ended_at"].max().floor("D")
    last = min((export - horizon - delay).floor("D"), latest_day)
    if last < earliest:
        last = latest_day
        why = (
            f"no day has mature labels (horizon {config.labels.horizon} + resolution delay "
            f"{config.labels.resolution_delay}), so the latest days are replayed and "
            "precision and recall stay undefined"
        )
    else:
        why = (
            f"the latest {days} days whose labels (horizon {config.labels.horizon}, "
            f"resolution delay {config.labels.resolution_delay}) are mature"
        )
    first = max(last - pd.Timedelta(days=days - 1), earliest)
    first = min(first, last)
    fp = model.metadata.fingerprint
    if fp is not None and fp.time_max is not None:
        after = fp.time_max.floor("D") + pd.Timedelta(days=1)
        if after <= last - pd.Timedelta(days=6):
            if after > first:
                first = after
                why += ", from the day after the model's training data"
        elif first < after:
            why += (
                f"; the days overlap the model's training data (until {fp.time_max:%Y-%m-%d}), "
                "so the risk-based rules are measured in sample"
            )
    return first, last, why


def _grouped_bars(ax: Any, frame: pd.DataFrame, column: str, title: str) -> None:
    pivot = frame.pivot(index="market", columns="policy", values=column)
    markets = list(pivot.index)
    width = 0.8 / max(len(pivot.columns), 1)
    x = np.arange(len(markets))
    for i, policy in enumerate(pivot.columns):
        ax.bar(x + i * width, pivot[policy].fillna(0).to_numpy(), width, label=_plain(policy))
    ax.set_xticks(x + width * (len(pivot.columns) - 1) / 2, [_plain(m) for m in markets])
    ax.set_title(_plain(title), fontsize=10)


def _policy_section(result: Any, model_label: str, window_note: str) -> Section:
    compare = result.compare()
    rows = [m for m in _POLICY_METRICS if m in compare.index]
    side = compare.loc[rows].reset_index()
    side.columns = ["metric", *[str(c) for c in compare.columns]]
    w = result.weekly
    sums = [
        "creators",
        "penalised",
        "queued",
        "queue_labelled",
        "queue_hits",
        "positives",
        "penalised_labelled",
        "true_positives",
        "false_penalty_labelled",
        "false_penalties",
        "gmv_affected",
    ]
    by = w.groupby(["policy", "market"], sort=True, observed=True)[sums].sum().reset_index()
    by = by.assign(
        share_penalised=_ratio(by["penalised"], by["creators"]),
        precision=_ratio(by["true_positives"], by["penalised_labelled"]),
        recall=_ratio(by["true_positives"], by["positives"]),
        false_penalty_rate=_ratio(by["false_penalties"], by["false_penalty_labelled"]),
        queue_hit_rate=_ratio(by["queue_hits"], by["queue_labelled"]),
    )
    market_table = by[
        [
            "policy",
            "market",
            "creators",
            "penalised",
            "share_penalised",
            "precision",
            "recall",
            "false_penalty_rate",
            "queue_hit_rate",
            "gmv_affected",
        ]
    ].rename(columns={"creators": "creator_weeks"})
    fig, grid = _new_figure(9.0, 5.2, ncols=2, nrows=2)
    for ax, (col, title) in zip(
        grid.flat,
        (
            ("share_penalised", "share of creator-weeks penalised"),
            ("precision", "precision of penalties"),
            ("false_penalty_rate", "false-penalty rate"),
            ("queue_hit_rate", "review-queue hit rate"),
        ),
        strict=True,
    ):
        _grouped_bars(ax, by, col, title)
    grid[0, 0].legend(fontsize=8)
    figure = Figure(
        "policies by market",
        _png(fig),
        caption="Each policy replayed day by day on the same creators and scores; bars "
        "are per market over the backtest weeks (missing bars: undefined, e.g. no "
        "mature label).",
    )
    last_week = result.tiers["week"].max()
    tiers = (
        result.tiers[result.tiers["week"] == last_week]
        .groupby(["policy", "tier"], sort=False, observed=True)["creators"]
        .sum()
        .reset_index()
    )
    tier_table = tiers.pivot(index="tier", columns="policy", values="creators").reset_index()
    tier_table.columns = [str(c) for c in tier_table.columns]
    notes = [
        Note(
            f"Backtest of {', '.join(result.policies)} with {model_label} from "
            f"{result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}: {window_note}."
        ),
        *(Note(n) for n in result.notes),
    ]
    return Section(
        "policy",
        "Policy backtest",
        (
            Table(
                "policies side by side",
                side,
                caption="Counts are creator-weeks (a creator's days of one week); precision "
                "and recall against confirmed adversarial violations; false-penalty rate: "
                "penalised creator-weeks without any confirmed violation; GMV affected: "
                "sales of creators while in a penalty tier.",
            ),
            figure,
            Table("policies by market", market_table.head(MAX_TABLE_ROWS)),
            Table(
                f"creators per tier in the week of {last_week:%Y-%m-%d}",
                tier_table.head(MAX_TABLE_ROWS),
            ),
            *notes,
        ),
        summary="What each governance policy would have done, measured on history.",
    )


# --------------------------------------------------------------------------- monitoring

_HEATMAP_ROWS = 25
_BASELINE_DAYS = 28
_MAX_ALERT_ROWS = 50
_MAX_TIMELINE_SEGMENTS = 30


def _session_window(tables: Tables, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Session features of the sessions that ended in ``[start, end)``."""
    from govml.features import session_features

    ended = tables.sessions["ended_at"]
    ids = tables.sessions.loc[(ended >= start) & (ended < end), "session_id"]
    return session_features(tables, session_ids=ids).frame


def _heatmap_figure(
    title: str,
    matrix: pd.DataFrame,
    thin: pd.DataFrame,
    warn_at: float,
    alert_at: float,
    min_rows: int,
) -> Figure:
    """PSI heatmap; ``thin`` marks the cells with too few rows (drawn grey)."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    values = matrix.to_numpy(dtype=np.float64)
    grey = thin.reindex(index=matrix.index, columns=matrix.columns, fill_value=False).to_numpy(bool)
    top = max(float(np.nanmax(np.where(grey, np.nan, values), initial=0.0)), alert_at * 2)
    cmap = ListedColormap(["#e8f3e8", "#fde9a9", "#f7a35c", "#d7301f"]).with_extremes(bad="#d9d9d9")
    norm = BoundaryNorm([0.0, warn_at, alert_at, alert_at * 2, top + 1e-9], cmap.N)
    shown = np.ma.masked_array(np.nan_to_num(values, nan=0.0), mask=grey | np.isnan(values))
    fig, ax = _new_figure(8.5, 1.2 + 0.28 * len(matrix))
    image = ax.imshow(shown, cmap=cmap, norm=norm, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), [_plain(c) for c in matrix.columns])
    ax.set_yticks(range(matrix.shape[0]), [_plain(r) for r in matrix.index], fontsize=8)
    ax.xaxis.tick_top()
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            ax.text(
                j,
                i,
                "–" if np.isnan(v) else f"{v:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="#777777" if grey[i, j] else "black",
            )
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label("PSI")
    return Figure(
        title,
        _png(fig),
        caption=f"Population stability index of each feature (rows: the model score and the "
        f"features that moved most) per market (columns; ALL = every market). Below "
        f"{warn_at:g}: no real change; {warn_at:g}-{alert_at:g}: a moderate shift worth a "
        f"look; from {alert_at:g}: a major shift. Grey cells: fewer than {min_rows} rows in "
        "a window, so the PSI is mostly noise.",
    )


def _drift_blocks(label: str, report: Any, note: str) -> list[Block]:
    frame = report.frame
    matrix = report.matrix()
    thin = (
        frame.assign(thin=frame["status"] == "insufficient")
        .pivot(index="feature", columns="market", values="thin")
        .astype(bool)
    )
    peak = matrix.where(~thin.reindex_like(matrix).fillna(False).astype(bool)).max(axis=1)
    score_rows = list(dict.fromkeys(frame.loc[frame["kind"] == "score", "feature"]))
    others = peak.drop(index=score_rows).fillna(0.0).sort_values(ascending=False, kind="stable")
    rows = [*score_rows, *others.index[: _HEATMAP_ROWS - len(score_rows)]]
    counts = report.status_counts()
    worst = report.worst(15)[
        ["feature", "kind", "market", "n_reference", "n_current", "psi", "status"]
    ]
    return [
        _heatmap_figure(
            f"{label}: drift heatmap",
            matrix.loc[rows],
            thin,
            report.warn_at,
            report.alert_at,
            report.min_rows,
        ),
        Table(
            f"{label}: the (feature, market) pairs that moved most",
            worst,
            caption="Pairs with fewer than "
            f"{report.min_rows} rows in either window are left out (status 'insufficient').",
        ),
        Note(
            f"{label}: {note}; {len(report.frame):,} (feature, market) pairs: "
            f"{counts['alert']} alert, {counts['warning']} warning, {counts['ok']} ok, "
            f"{counts['insufficient']} insufficient",
            "warning" if counts["alert"] else "info",
        ),
    ]


def _timeline_figure(trends: Any, onset: pd.Timestamp | None) -> Figure:
    daily = trends.daily
    seg_cols = list(trends.segment)
    monitored = (
        daily[daily["status"].isin(("ok", "alert"))].groupby("day").size()
        if len(daily)
        else pd.Series(dtype=np.int64)
    )
    alerts = trends.alerts
    names = (
        alerts[seg_cols].astype(str).agg(" x ".join, axis=1)
        if len(alerts)
        else pd.Series(dtype=object)
    )
    counts = names.value_counts()
    segments = sorted(counts.index[:_MAX_TIMELINE_SEGMENTS]) if len(counts) else []
    fig, (top, ax) = _new_figure(9.0, 2.4 + 0.25 * max(len(segments), 4), nrows=2)
    days = pd.date_range(trends.first_day, trends.last_day, freq="D")
    top.bar(days, monitored.reindex(days, fill_value=0).to_numpy(), width=0.8, color="#9db4d6")
    top.set_ylabel("segments\nmonitored", fontsize=8)
    top.set_ylim(bottom=0)
    if segments:
        keep = names.isin(segments).to_numpy()
        y = [segments.index(n) for n in names[keep]]
        points = ax.scatter(
            alerts.loc[keep, "day"],
            y,
            s=20 + 6 * np.minimum(alerts.loc[keep, "strength"].to_numpy(float), 30),
            c=alerts.loc[keep, "strength"].to_numpy(float),
            cmap="Reds",
            vmin=0,
            edgecolors="black",
            linewidths=0.5,
        )
        fig.colorbar(points, ax=ax, label="|z| of the strongest aggregate")
        ax.set_yticks(range(len(segments)), [_plain(s) for s in segments], fontsize=8)
        ax.set_ylim(-0.7, len(segments) - 0.3)
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no trend alert", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(days[0] - pd.Timedelta(hours=12), days[-1] + pd.Timedelta(hours=12))
    top.set_xlim(ax.get_xlim())
    for axis in (top, ax):
        if onset is not None and days[0] <= onset <= days[-1]:
            axis.axvline(onset, color="purple", linestyle="--", linewidth=1)
        axis.tick_params(axis="x", labelsize=8)
    if onset is not None and days[0] <= onset <= days[-1]:
        ax.annotate(
            "injected pattern",
            (onset, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            color="purple",
            va="bottom",
        )
    return Figure(
        "trend alerts by segment and day",
        _png(fig),
        caption=f"Top: {' x '.join(seg_cols)} segments monitored each day (enough sessions "
        "and baseline days). Bottom: each dot is an alert, a segment-day whose behaviour "
        f"broke from the segment's own trailing {trends.baseline_days} days while the rest of "
        "the platform did not; larger and darker is stronger.",
    )


def _trends_section(trends: Any, score: Any, onset: pd.Timestamp | None, why: str) -> Section:
    seg_cols = list(trends.segment)
    alerts = trends.alerts
    table = alerts.nlargest(_MAX_ALERT_ROWS, "strength", keep="first").sort_values(
        ["day", *seg_cols], kind="stable"
    )
    table = pd.DataFrame(
        {
            "day": table["day"],
            **{c: table[c].astype(str) for c in seg_cols},
            "sessions": table["n_sessions"],
            "strength": table["strength"],
            "score mean": table["score_mean"],
            "score z": table["score_z"],
            "drivers": [
                ", ".join(f"{f} ({z:+.1f})" for f, z in zip(fs, zs, strict=False))
                for fs, zs in zip(table["top_features"], table["top_z"], strict=False)
            ],
            "reasons": [
                ", ".join(dict.fromkeys(r for r in rs if r)) for rs in table["top_reasons"]
            ],
        }
    ).reset_index(drop=True)
    monitored = int(trends.daily["status"].isin(("ok", "alert")).sum())
    blocks: list[Block] = [
        _timeline_figure(trends, onset),
        Table(
            "trend alerts",
            table,
            caption=f"{trends.n_alerts:,} alert(s) over {monitored:,} monitored segment-days "
            f"({trends.first_day:%Y-%m-%d} .. {trends.last_day:%Y-%m-%d}); |z| >= "
            f"{trends.threshold:g} with at least {trends.min_sessions} sessions"
            + (
                f"; the {_MAX_ALERT_ROWS} strongest shown"
                if trends.n_alerts > _MAX_ALERT_ROWS
                else ""
            ),
        ),
        Note(why),
    ]
    if score is not None:
        blocks.append(
            Table(
                "detection of the simulator's injected pattern",
                pd.DataFrame(
                    {
                        "onset": [score.onset],
                        "segments": [len(score.pattern_segments)],
                        "detected": [score.detected],
                        "first alert": [score.first_alert],
                        "lag (days)": [score.lag_days],
                        "true alerts": [score.n_true_alerts],
                        "false before onset": [score.n_false_before_onset],
                        "false in other segments": [score.n_false_other_segments],
                        "false alerts per week": [score.false_alerts_per_week],
                    }
                ),
                caption=str(score),
            )
        )
    return Section(
        "trends",
        "Trend alerts",
        tuple(blocks),
        summary=f"Segments ({' x '.join(seg_cols)}) whose daily behaviour broke from their "
        "own past: how a new abuse pattern first shows.",
    )


def build_report(
    tables: Tables,
    models: GovmlModel | Sequence[GovmlModel],
    *,
    configs: Mapping[str, ExperimentConfig] | None = None,
    policies: Sequence[Policy | str | os.PathLike[str]] | None = None,
    truth: GroundTruth | None = None,
    end: Any = None,
    period_days: int = 28,
    backtest_days: int = 28,
    max_explain_rows: int = 20_000,
    monitor: bool = True,
    title: str = "govml governance report",
    seed: int = 0,
    progress: Progress | None = None,
) -> Report:
    """Score a period of the tables with the models and summarise it as a :class:`Report`.

    Parameters
    ----------
    tables : Tables
        Validated tables (:func:`govml.load_tables` or :func:`govml.validate_tables`).
    models : GovmlModel or sequence of GovmlModel
        One or more models, of either task (e.g. both tasks' champions, or a champion
        and a candidate of one task).
    configs : mapping of task to ExperimentConfig, optional
        The experiment configuration to label, snapshot and evaluate each task's models
        with: labels (horizon, resolution delay), snapshot grid and evaluation settings
        (review capacity, target precision, bootstrap). Default: each model's own
        training configuration (:meth:`GovmlModel.training_config`), or
        :func:`govml.default_config` for a model that records none (saved before govml
        stored it). A given config whose label or snapshot settings differ from the
        model's training is used as asked, but the report says so in a warning (overview
        and performance, and through ``progress``): evaluating a model on labels it was
        not trained for is a question one may ask on purpose, so it is not refused, but
        it must never look like the model's own target. The overview's ``models`` table
        states the label settings each model is evaluated with and where they come from.
    policies : sequence of Policy or YAML paths, optional
        Governance policies to backtest (:func:`govml.policy.backtest`) with the
        first adversarial-seller model, e.g. ``experiments/policy_baseline.yaml`` and
        ``experiments/policy_strict.yaml``. Needs an adversarial model.
    truth : GroundTruth, optional
        A simulated world's ground truth: adds the false-penalty rate by truth to the
        backtest.
    end : timestamp, optional
        End of the report period (default: just after the last session end).
    period_days : int, default 28
        Length of the report period in days.
    backtest_days : int, default 28
        Days replayed by the policy backtest: the latest days whose labels are mature
        (so precision and recall are defined).
    max_explain_rows : int, default 20000
        Flagged rows explained per model for the reason breakdown (a random sample
        beyond that; 0 = all).
    monitor : bool, default True
        Add the drift heatmaps (each model's features and score in the report period
        against the ``period_days`` before it, ending no later than the model's training
        data) and the trend-alert timeline (:func:`govml.monitor.detect_trends` over the
        period's sessions, scored by the low-quality model when one is given; with
        ``truth``, from a week before the injected pattern, with its detection lag).
    title : str, default "govml governance report"
    seed : int, default 0
        Seed of the explanation sample.
    progress : callable, optional
        Called with a short message at each step.

    Returns
    -------
    Report

    Raises
    ------
    ConfigError
        No model, something that is not a model or not :class:`~govml.Tables`, a
        config of another task, a model whose stored training config is invalid for
        this govml, a non-positive period, a negative
        ``max_explain_rows``, an unparsable ``end``, or policies without an
        adversarial-seller model.
    PolicyError
        A policy file is invalid.

    Examples
    --------
    >>> import os, tempfile
    >>> import govml
    >>> from govml.report import build_report
    >>> world = govml.simulate(n_creators=200, n_days=90, seed=1)
    >>> fast = govml.default_config("low_quality").override(
    ...     {"model.num_boost_round": 30, "evaluation.n_bootstrap": 0})
    >>> result = govml.train_task(world.tables, fast, track=False)
    >>> report = build_report(world.tables, result.model, period_days=14, monitor=False)
    >>> [s.key for s in report.sections]
    ['overview', 'scores', 'performance', 'reasons']
    >>> models = next(t for t in report.section("overview").tables if t.title == "models")
    >>> models.frame["labels"].tolist()  # the model's own training config is used
    ['review delay 3D (as trained)']
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = report.write(os.path.join(tmp, "report.html"))
    ...     print(path.stat().st_size < 1024 * 1024)
    True
    """
    from govml.schema import Tables

    if not isinstance(tables, Tables):
        raise ConfigError(
            f"tables must be govml.Tables, got {type(tables).__name__}; load them with "
            "govml.load_tables(folder) or govml.validate_tables(mapping_of_frames)"
        )
    items = _models(models)
    resolved = _configs(configs, items)
    if isinstance(period_days, bool) or not isinstance(period_days, int) or period_days < 1:
        raise ConfigError(
            f"period_days={period_days!r}; expected a whole number of days, at least 1"
        )
    if (
        isinstance(max_explain_rows, bool)
        or not isinstance(max_explain_rows, int)
        or max_explain_rows < 0
    ):
        raise ConfigError(
            f"max_explain_rows={max_explain_rows!r}; expected a whole number >= 0 (0 = all)"
        )
    if isinstance(backtest_days, bool) or not isinstance(backtest_days, int) or backtest_days < 1:
        raise ConfigError(
            f"backtest_days={backtest_days!r}; expected a whole number of days, at least 1"
        )
    policy_list = _policies(policies)
    adversarial = [m for m in items if m.metadata.task == "adversarial"]
    if policy_list and not adversarial:
        raise ConfigError(
            f"policies {[p.label for p in policy_list]} need an adversarial-seller model to "
            "backtest, but every model given is a low_quality model; add the adversarial "
            "model (e.g. models:/govml-adversarial@champion) or leave policies out"
        )
    if len(tables.sessions) == 0:
        raise ConfigError("the sessions table is empty; a report needs sessions to score")
    period_end = (
        tables.sessions["ended_at"].max() + pd.Timedelta(microseconds=1)
        if end is None
        else _utc(end, "end")
    )
    period_start = period_end - pd.Timedelta(days=period_days)
    cutoff = _latest_known(tables)
    data_start = tables.sessions["ended_at"].min()
    features: dict[str, tuple[pd.DataFrame, str]] = {}
    sessions_frame = None
    trend_since = trend_start = period_start
    onset = None
    if monitor:
        pattern = getattr(truth, "pattern", None)
        if pattern is not None:
            onset = pattern.started_at.tz_convert("UTC").floor("D")
        trend_why = f"Trend alerts cover the report period, each day against its trailing {_BASELINE_DAYS} days."
        if onset is not None and data_start < onset < period_start:
            trend_since = max(onset - pd.Timedelta(days=7), data_start.floor("D"))
            trend_why = (
                f"Trend alerts cover {trend_since:%Y-%m-%d} .. {period_end:%Y-%m-%d}: from a week "
                "before the simulator's injected pattern, so its detection lag is measured; "
                f"each day against its trailing {_BASELINE_DAYS} days."
            )
        trend_start = max(trend_since - pd.Timedelta(days=_BASELINE_DAYS), data_start.floor("D"))
        _say(
            progress,
            f"building session features for {trend_start:%Y-%m-%d} .. {period_end:%Y-%m-%d}",
        )
        sessions_frame = _session_window(tables, trend_start, period_end)
        in_period = (sessions_frame["ended_at"] >= period_start).to_numpy()
        features["low_quality"] = (sessions_frame[in_period].reset_index(drop=True), "ended_at")
    scored = []
    for model, (cfg, origin, warning) in zip(items, resolved, strict=True):
        task = model.metadata.task
        if warning is not None:
            _say(progress, f"warning: {warning}")
        key = _feature_key(task, cfg)
        if key not in features:
            _say(
                progress,
                f"building {task} features for {period_start:%Y-%m-%d} .. {period_end:%Y-%m-%d}",
            )
            features[key] = _period_features(tables, task, cfg, period_start, period_end)
        scored.append(
            _score_model(
                tables,
                model,
                _model_label(model, items),
                cfg,
                features[key],
                cutoff=cutoff,
                progress=progress,
                config_origin=origin,
                config_warning=warning,
            )
        )
    sections = [
        _overview_section(tables, scored, period_start, period_end),
        _scores_section(scored),
        _performance_section(scored),
    ]
    _say(progress, "explaining flagged rows")
    sections.append(_reasons_section(scored, max_rows=max_explain_rows, seed=seed))
    if policy_list:
        from govml.policy import backtest

        model = adversarial[0]
        cfg = next(s.config for s in scored if s.model is model)
        first, last, why = _backtest_window(tables, model, cfg, backtest_days)
        labels = ", ".join(p.label for p in policy_list)
        _say(progress, f"backtesting {labels} from {first:%Y-%m-%d} to {last:%Y-%m-%d}")
        result = backtest(
            tables,
            model,
            policy_list,
            start=first,
            end=last,
            truth=truth,
            horizon=cfg.labels.horizon,
            resolution_delay=cfg.labels.resolution_delay,
            active_within=cfg.snapshots.active_within,
            reasons=0,
            unseen="allow",
        )
        label = next(s.label for s in scored if s.model is model)
        sections.append(_policy_section(result, label, why))
    if monitor:
        from govml.monitor import detect_trends, drift_report, evaluate_trend_detection

        drift_blocks: list[Block] = []
        for sc in scored:
            task = sc.model.metadata.task
            fp = sc.model.metadata.fingerprint
            ref_end = period_start
            if fp is not None and fp.time_max is not None:
                ref_end = min(ref_end, fp.time_max + pd.Timedelta(microseconds=1))
            ref_start = max(ref_end - pd.Timedelta(days=period_days), data_start)
            if ref_start >= ref_end:
                drift_blocks.append(
                    Note(f"{sc.label}: no data before the report period to compare with")
                )
                continue
            _say(
                progress,
                f"drift of {sc.label}: {ref_start:%Y-%m-%d} .. {ref_end:%Y-%m-%d} vs the period",
            )
            if task == "low_quality" and sessions_frame is not None and ref_start >= trend_start:
                ended = sessions_frame["ended_at"]
                reference = sessions_frame[((ended >= ref_start) & (ended < ref_end)).to_numpy()]
            else:
                reference, _ = _period_features(tables, task, sc.config, ref_start, ref_end)
            current, time_col = features[_feature_key(task, sc.config)]
            if len(reference) == 0 or len(current) == 0:
                drift_blocks.append(Note(f"{sc.label}: a drift window holds no row", "warning"))
                continue
            drift = drift_report(reference, current, model=sc.model, by="market", time_col=time_col)
            where = (
                "the last days of its training data"
                if fp is not None
                and fp.time_max is not None
                and ref_end <= fp.time_max + pd.Timedelta(microseconds=1)
                else "the days before the report period"
            )
            drift_blocks.extend(
                _drift_blocks(
                    sc.label,
                    drift,
                    f"reference {ref_start:%Y-%m-%d} .. {ref_end:%Y-%m-%d} ({where}, "
                    f"{len(reference):,} rows) against the report period ({len(current):,} rows)",
                )
            )
        sections.append(
            Section(
                "drift",
                "Drift",
                tuple(drift_blocks),
                summary="How far each feature and the score moved from the reference window, per market.",
            )
        )
        _say(progress, "detecting trends per market x category and day")
        lq = next((m for m in items if m.metadata.task == "low_quality"), None)
        if sessions_frame is None or len(sessions_frame) == 0:
            sections.append(
                Section("trends", "Trend alerts", (Note("no session to monitor", "warning"),))
            )
        else:
            trends = detect_trends(
                sessions_frame,
                model=lq,
                time_col="ended_at",
                since=trend_since,
                baseline_days=_BASELINE_DAYS,
            )
            if not trends.daily["status"].isin(("ok", "alert")).any():
                # market x category segments too thin to monitor: watch whole markets
                trends = detect_trends(
                    sessions_frame,
                    model=lq,
                    time_col="ended_at",
                    segment=("market",),
                    since=trend_since,
                    baseline_days=_BASELINE_DAYS,
                )
                trend_why += (
                    f" No market x category segment had {trends.min_sessions} sessions on "
                    "enough days to be monitored, so whole markets are monitored instead."
                )
            score = None
            if onset is not None and trends.first_day <= onset <= trends.last_day:
                score = evaluate_trend_detection(trends, truth.pattern, creators=tables.creators)
            sections.append(_trends_section(trends, score, onset, trend_why))
    facts = {
        "period": f"{period_start:%Y-%m-%d} .. {period_end:%Y-%m-%d} UTC ({period_days} days)",
        "models": ", ".join(f"{s.label} ({s.model.metadata.task})" for s in scored),
        "data": ", ".join(f"{k}={v:,}" for k, v in tables.n_rows().items()),
    }
    return Report(title=title, sections=tuple(sections), facts=facts)


def log_report(
    path: str | os.PathLike[str],
    *,
    experiment: str = "govml-reports",
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    tracking: TrackingConfig | None = None,
) -> str:
    """Log a written report file to a new MLflow run, as the artifact ``report/<name>``.

    Parameters
    ----------
    path : path-like
        The HTML file :meth:`Report.write` wrote.
    experiment : str, default "govml-reports"
    run_name : str, optional
    tags : mapping, optional
        E.g. the model URIs the report covers.
    tracking : TrackingConfig, optional
        Default: :func:`govml.tracking.configure`.

    Returns
    -------
    str
        The MLflow run id.

    Raises
    ------
    DataLoadError
        If the file does not exist.
    TrackingError
        If the tracking store cannot be used.

    Examples
    --------
    A report logged to a local MLflow store in a temporary folder:

    >>> import pathlib, tempfile
    >>> from govml import tracking
    >>> from govml.report import Note, Report, Section, log_report
    >>> work = tempfile.TemporaryDirectory()  # work.cleanup() removes the store
    >>> store = tracking.configure(tracking_uri=f"sqlite:///{work.name}/mlruns.db", cwd=work.name)
    >>> path = Report("weekly", (Section("a", "A", (Note("all quiet"),)),)).write(
    ...     pathlib.Path(work.name, "weekly.html"))
    >>> run_id = log_report(path, run_name="weekly", tracking=store)
    >>> len(run_id), [p.name for p in pathlib.Path(work.name, "mlartifacts").rglob("*.html")]
    (32, ['weekly.html'])
    >>> work.cleanup()
    """
    from govml.tracking import start_run

    file = Path(path)
    if not file.is_file():
        raise DataLoadError(f"no report at {file}; write it first with Report.write(path)")
    with start_run(experiment=experiment, run_name=run_name, tags=tags, tracking=tracking) as run:
        run.log_file(file, artifact_dir="report")
        return run.run_id
