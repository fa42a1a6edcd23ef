"""Tests of govml.report: the self-contained HTML dashboard.

The report is built once per module from the shared ``small_world`` and ``small_models``
and opened in headless Chromium, which must render every plot without a console error
and without touching the network.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import select
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import small_config

import govml
from govml import report as rp
from govml._exceptions import ConfigError, DataLoadError
from govml.cli import main
from govml.report import Figure, Note, Report, Section, Table, build_report, log_report
from govml.schema import MARKETS

TASKS = ("low_quality", "adversarial")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
HOSTILE = "<script>alert('x')</script>&\"amp\""


def _png(width: int, height: int, *, noise: bool = False, seed: int = 0) -> bytes:
    """A valid RGB PNG, stored without compression when ``noise`` (so its size is known)."""
    rng = np.random.default_rng(seed)
    pixels = (
        rng.integers(0, 256, (height, width * 3), dtype=np.uint8)
        if noise
        else np.full((height, width * 3), 200, dtype=np.uint8)
    )
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 0 if noise else 9))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def configs():
    return {task: small_config(task) for task in TASKS}


EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
POLICIES = (str(EXPERIMENTS / "policy_baseline.yaml"), str(EXPERIMENTS / "policy_strict.yaml"))


@pytest.fixture(scope="module")
def report(small_world, small_models, configs):
    models = [small_models[task][0] for task in TASKS]
    return build_report(
        small_world.tables,
        models,
        configs=configs,
        policies=POLICIES,
        truth=small_world.truth,
        period_days=28,
    )


@pytest.fixture(scope="module")
def html_file(report, tmp_path_factory):
    return report.write(tmp_path_factory.mktemp("report") / "report.html")


# --------------------------------------------------------------------------- content


def test_sections_in_order_with_plots_and_tables(report):
    keys = [s.key for s in report.sections]
    assert keys == ["overview", "scores", "performance", "reasons", "policy", "drift", "trends"]
    # per model: a distribution plot, PR/calibration curves, a reason breakdown
    assert len(report.section("scores").figures) == 2
    assert len(report.section("performance").figures) == 2
    assert len(report.section("reasons").figures) == 2
    assert len(report.section("drift").figures) == 2  # a heatmap per model
    assert len(report.section("trends").figures) == 1
    for figure in report.figures:
        width, height = figure.size
        assert figure.png.startswith(b"\x89PNG") and 300 < width < 2000 and 200 < height < 2000
    for section in report.sections:
        for table in section.tables:
            assert len(table.frame) <= rp.MAX_TABLE_ROWS


def test_score_distribution_counts_every_period_row_once(report, small_world):
    tables = small_world.tables
    end = tables.sessions["ended_at"].max() + pd.Timedelta(microseconds=1)
    start = end - pd.Timedelta(days=28)
    ended = tables.sessions["ended_at"]
    in_period = tables.sessions[(ended >= start) & (ended < end)]
    per_market = in_period["creator_id"].map(tables.creators.set_index("creator_id")["market"])
    table = report.section("scores").tables[0].frame.set_index("market")
    assert table.loc["all markets", "rows"] == len(in_period)
    expected = per_market.astype(str).value_counts()
    got = table.drop(index="all markets")["rows"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    # tier shares are shares of rows: between 0 and 1, and the tiers never overlap
    shares = table[[c for c in table.columns if c.startswith("share ")]]
    assert ((shares >= 0) & (shares <= 1)).all().all()
    assert (shares.sum(axis=1) <= 1 + 1e-12).all()


def test_evaluation_uses_only_rows_after_training(report, small_models):
    notes = [n.text for n in report.section("performance").notes]
    for task in TASKS:
        fp = small_models[task][0].metadata.fingerprint
        assert any(f"after the training data ({fp.time_max:%Y-%m-%d %H:%M})" in n for n in notes)
    titles = [t.title for t in report.section("performance").tables]
    assert any("random_audit (unbiased)" in t for t in titles)
    assert any("all reviewed (biased by sampling)" in t for t in titles)
    assert any("all mature snapshots" in t for t in titles)


def test_reason_breakdown_shares_add_up(report):
    for table in report.section("reasons").tables:
        frame = table.frame
        assert frame["share of flagged rows"].sum() == pytest.approx(1.0)
        for col in [c for c in frame.columns if c.startswith("share in ")]:
            assert frame[col].sum() == pytest.approx(1.0)
        assert set(frame["reason_code"]) <= {*govml.REASON_GROUPS, "(none)"}


def test_policy_backtest_matches_the_policy_module(report, small_world, small_models, configs):
    from govml.policy import backtest

    section = report.section("policy")
    side = section.tables[0].frame.set_index("metric")
    from govml.policy import load_policy

    assert list(side.columns) == [load_policy(p).label for p in POLICIES]
    # the window: after the training data, up to the last day with mature labels
    window = re.search(r"from (\S+) to (\S+): the latest", section.notes[0].text)
    fp = small_models["adversarial"][0].metadata.fingerprint
    assert pd.Timestamp(window.group(1), tz="UTC") == fp.time_max.floor("D") + pd.Timedelta(days=1)
    cfg = configs["adversarial"]
    direct = backtest(
        small_world.tables,
        small_models["adversarial"][0],
        list(POLICIES),
        start=window.group(1),
        end=window.group(2),
        truth=small_world.truth,
        horizon=cfg.labels.horizon,
        resolution_delay=cfg.labels.resolution_delay,
        reasons=0,
    ).compare()
    for metric in ("penalised", "precision", "recall", "false_penalty_rate", "gmv_affected"):
        np.testing.assert_allclose(
            side.loc[metric].to_numpy(float), direct.loc[metric].to_numpy(float)
        )
    by_market = section.tables[1].frame
    for policy, part in by_market.groupby("policy"):
        assert part["penalised"].sum() == side.loc["penalised", policy]
        assert part["gmv_affected"].sum() == pytest.approx(side.loc["gmv_affected", policy])
    assert len(section.figures) == 1


def test_drift_section_matches_the_monitor(report, small_world, small_models):
    from govml.features import session_features
    from govml.monitor import drift_report

    tables = small_world.tables
    model = small_models["low_quality"][0]
    end = tables.sessions["ended_at"].max() + pd.Timedelta(microseconds=1)
    start = end - pd.Timedelta(days=28)
    ref_end = min(start, model.metadata.fingerprint.time_max + pd.Timedelta(microseconds=1))
    ended = tables.sessions["ended_at"]

    def window(a, b):
        ids = tables.sessions.loc[(ended >= a) & (ended < b), "session_id"]
        return session_features(tables, session_ids=ids).frame

    direct = drift_report(
        window(ref_end - pd.Timedelta(days=28), ref_end),
        window(start, end),
        model=model,
        by="market",
        time_col="ended_at",
    ).worst(15)
    shown = report.section("drift").tables[0].frame
    assert shown["feature"].tolist() == direct["feature"].tolist()
    assert shown["market"].tolist() == direct["market"].tolist()
    np.testing.assert_allclose(shown["psi"].to_numpy(float), direct["psi"].to_numpy(float))


def test_trend_timeline_measures_the_injected_pattern(report, small_world):
    section = report.section("trends")
    alerts, detection = section.tables
    pattern = small_world.truth.pattern
    onset = pattern.started_at.floor("D")
    row = detection.frame.iloc[0]
    assert row["onset"] == onset
    in_pattern = alerts.frame[
        (alerts.frame["market"] == pattern.market) & (alerts.frame["day"] >= onset)
    ]
    assert row["detected"] == (len(in_pattern) > 0)
    if row["detected"]:
        assert row["first alert"] == in_pattern["day"].min()
        assert row["lag (days)"] == (row["first alert"] - onset).days
    # the timeline starts a week before the onset, so the lag can be measured
    assert any(f"cover {onset - pd.Timedelta(days=7):%Y-%m-%d}" in n.text for n in section.notes)


def test_html_is_self_contained_and_small(report, html_file):
    text = html_file.read_text(encoding="utf-8")
    assert text == report.to_html().replace(
        re.search(r"built [^<]*", report.to_html()).group(0),
        re.search(r"built [^<]*", text).group(0),
    )
    assert "<script" not in text and "<link" not in text and "@import" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert text.count('src="data:image/png;base64,') == len(report.figures)
    assert html_file.stat().st_size < rp.MAX_REPORT_BYTES


# --------------------------------------------------------------------------- escaping


def test_user_strings_are_escaped(small_world, small_models, configs):
    model = small_models["low_quality"][0]
    meta = dataclasses.replace(model.metadata, name=HOSTILE, version="1<b>")
    hostile_model = govml.GovmlModel(model.booster, meta)
    built = build_report(
        small_world.tables,
        hostile_model,
        configs=configs,
        period_days=7,
        monitor=False,
        title=f"report {HOSTILE}",
    )
    manual = Report(
        title="t",
        sections=(
            Section(
                "s",
                f"section {HOSTILE}",
                (
                    Table(HOSTILE, pd.DataFrame({"creator_id": [HOSTILE], HOSTILE: [1]})),
                    Note(HOSTILE, "warning"),
                    Figure(HOSTILE, _png(10, 10), caption=HOSTILE),
                ),
                summary=HOSTILE,
            ),
        ),
        facts={HOSTILE: HOSTILE},
    )
    for html_text in (built.to_html(), manual.to_html()):
        assert "<script>" not in html_text and "<b>" not in html_text
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;amp&quot;" in html_text


def test_table_cells_are_formatted_for_people():
    frame = pd.DataFrame(
        {
            "gmv": [266866.3, np.nan],
            "rate": [0.0001234, 0.5],
            "n": [12345, 7],
            "flag": [True, False],
            "day": [pd.Timestamp("2026-03-13", tz="UTC"), pd.NaT],
        }
    )
    html_text = Report(title="t", sections=(Section("s", "S", (Table("t", frame),)),)).to_html()
    body = re.search(r"<tbody>(.*)</tbody>", html_text).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", body)
    assert cells == [
        "266,866", "0.000123", "12,345", "yes", "2026-03-13",
        "–", "0.5", "7", "no", "–",
    ]  # fmt: skip


def test_dollar_signs_in_labels_are_not_mathtext():
    # "$" starts matplotlib mathtext; an unbalanced one would fail to render
    p = np.linspace(0.001, 0.9, 500)
    market = np.where(np.arange(500) % 2, "$ID", "T$H")
    fig = rp._distribution_figure("t", p, market, {"re$view": 0.5, "wa$tch": 0.1})
    assert fig.png.startswith(b"\x89PNG")


# --------------------------------------------------------------------------- size bound


def test_size_does_not_grow_with_rows():
    """Summaries only: a million rows give the same figures and tables as a thousand."""
    sizes = {}
    for n in (1_000, 1_000_000):
        rng = np.random.default_rng(0)
        p = rng.beta(0.5, 20, n)
        y = (rng.random(n) < p).astype(np.int8)
        market = rng.choice(np.array(MARKETS, dtype=object), n)
        tier = np.where(p >= 0.2, "review", np.where(p >= 0.05, "watch", "none"))
        codes = rng.choice(np.array(["VR", "CS", "EQ", None], dtype=object), n)
        importance = pd.DataFrame(
            {
                "reason_code": ["VR", "CS", "EQ"],
                "reason_label": ["viewer reports", "content signals", "engagement quality"],
                "mean_abs_contribution": [0.5, 0.3, 0.1],
                "n_rows": n,
            }
        )
        blocks = [
            rp._distribution_figure("d", p, market, {"review": 0.2, "watch": 0.05}),
            rp._distribution_table("t", p, market, tier, ["review", "watch"]),
            rp._curves_figure("c", [("sample", y, p), ("half", y[::2], p[::2])]),
            *rp._reason_blocks("r", codes, market, importance, n),
        ]
        report = Report(title="size", sections=(Section("s", "S", tuple(blocks)),))
        sizes[n] = len(report.to_html().encode())
    assert sizes[1_000_000] < 1.5 * sizes[1_000] + 50_000
    assert sizes[1_000_000] < rp.MAX_REPORT_BYTES / 10


def test_write_refuses_reports_above_the_bound(tmp_path):
    big = _png(700, 450, noise=True)  # ~0.95 MB each, stored uncompressed
    assert len(big) < rp.MAX_FIGURE_BYTES
    report = Report(
        title="big",
        sections=(Section("s", "S", tuple(Figure(f"f{i}", big) for i in range(6))),),
    )
    with pytest.raises(ConfigError, match=r"above the 5 MiB limit; it holds 6 figures"):
        report.write(tmp_path / "big.html")
    assert not any(tmp_path.iterdir())  # nothing half-written


# --------------------------------------------------------------------------- errors


def test_block_and_report_errors(tmp_path):
    with pytest.raises(ConfigError, match="png must be the bytes of a PNG file"):
        Figure("f", b"GIF89a")
    with pytest.raises(ConfigError, match="above the 1,048,576-byte limit"):
        Figure("f", _png(800, 500, noise=True))
    with pytest.raises(ConfigError, match="frame must be a pandas DataFrame, got dict"):
        Table("t", {"a": [1]})
    with pytest.raises(ConfigError, match=r"has 201 rows x 1 columns; a report table holds"):
        Table("t", pd.DataFrame({"a": range(201)}))
    with pytest.raises(ConfigError, match="note level='error'; use 'info' or 'warning'"):
        Note("n", "error")
    with pytest.raises(ConfigError, match="section key 'Bad Key' is not a valid anchor"):
        Section("Bad Key", "t")
    with pytest.raises(ConfigError, match="section 's' holds a str; blocks must be"):
        Section("s", "t", ("text",))
    with pytest.raises(ConfigError, match=r"section keys \['a'\] are used more than once"):
        Report(title="r", sections=(Section("a", "A"), Section("a", "B")))
    with pytest.raises(ConfigError, match="must be govml.report.Section objects, got str"):
        Report(title="r", sections=("a",))
    report = Report(title="r", sections=(Section("a", "A"),))
    with pytest.raises(ConfigError, match=r"has no section 'b'; its sections are \['a'\]"):
        report.section("b")
    out = report.write(tmp_path / "sub" / "r.html")
    plain = tmp_path / "plain.html"
    plain.write_bytes(b"x")  # a file as open() creates it: the report is no more private
    assert out.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temporary file left
    with pytest.raises(DataLoadError, match="already exists; pass overwrite=True"):
        report.write(out)
    assert report.write(out, overwrite=True) == out
    with pytest.raises(DataLoadError, match="no report at"):
        log_report(tmp_path / "missing.html")


def test_build_report_errors(small_world, small_models, configs):
    model = small_models["low_quality"][0]
    tables = small_world.tables
    with pytest.raises(ConfigError, match="needs at least one model"):
        build_report(tables, [])
    with pytest.raises(ConfigError, match="models must be GovmlModel objects, got str"):
        build_report(tables, ["models:/x@champion"])
    with pytest.raises(ConfigError, match="tables must be govml.Tables, got dict"):
        build_report(dict(tables.items()), model)
    with pytest.raises(ConfigError, match=r"configs\['adversarial'\] must be the ExperimentConfig"):
        build_report(tables, model, configs={"adversarial": configs["low_quality"]})
    with pytest.raises(ConfigError, match="period_days=0; expected a whole number of days"):
        build_report(tables, model, period_days=0)
    with pytest.raises(ConfigError, match="max_explain_rows=-1; expected a whole number"):
        build_report(tables, model, max_explain_rows=-1)
    with pytest.raises(ConfigError, match="end='soon' is not a timestamp"):
        build_report(tables, model, end="soon")
    with pytest.raises(ConfigError, match="backtest_days=0; expected a whole number of days"):
        build_report(tables, model, backtest_days=0)
    with pytest.raises(ConfigError, match=r"policies \['baseline@\d+'\] need an adversarial"):
        build_report(tables, model, policies=POLICIES[0])
    empty = dataclasses.replace(tables, sessions=tables.sessions.iloc[:0])
    with pytest.raises(ConfigError, match="the sessions table is empty"):
        build_report(empty, model)


def test_log_report_stores_the_file_as_an_artifact(tmp_path):
    from govml import tracking

    path = Report(title="t", sections=(Section("a", "A"),)).write(tmp_path / "r.html")
    config = tracking.configure(tracking_uri=f"sqlite:///{tmp_path / 'mlruns.db'}", cwd=tmp_path)
    run_id = log_report(path, run_name="weekly", tags={"k": "v"}, tracking=config)
    stored = list(tmp_path.glob(f"mlartifacts/govml-reports/{run_id}/artifacts/report/r.html"))
    assert len(stored) == 1 and stored[0].read_bytes() == path.read_bytes()


# --------------------------------------------------------------------------- Chromium


class _Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (no port, no deps)."""

    def __init__(self, profile: Path) -> None:
        import fcntl

        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # move the child's ends above fd 9 so the shell can map them onto 3 and 4
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_chrome_r, from_chrome_w)]
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        r, w = ends
        self.proc = subprocess.Popen(
            [
                "/bin/bash",
                "-c",
                f'exec "$0" "$@" 3<&{r} 4>&{w} {r}<&- {w}>&-',
                str(CHROMIUM),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            pass_fds=(r, w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(r)
        os.close(w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self, until, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if until(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer within the timeout")
            ready, _, _ = select.select([self._from_chrome], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buffer += chunk

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        message: dict = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        reply = self._read(lambda m: m.get("id") == self._id)
        assert "error" not in reply, reply
        return reply.get("result", {})

    def wait_for(self, method: str) -> dict:
        return self._read(lambda m: m.get("method") == method)

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait(timeout=10)
        finally:
            os.close(self._to_chrome)
            os.close(self._from_chrome)


def _inspect_page(url: str, profile: Path) -> dict:
    """Load ``url``; return console errors, exceptions, requests and the images' state."""
    chrome = _Chromium(profile)
    try:
        target = chrome.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = chrome.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Page", "Network"):
            chrome.send(f"{domain}.enable", session=session)
        chrome.send("Page.navigate", {"url": url}, session=session)
        chrome.wait_for("Page.loadEventFired")
        images = chrome.send(
            "Runtime.evaluate",
            {
                "expression": "JSON.stringify([...document.querySelectorAll('img.plot')]"
                ".map(i => [i.complete, i.naturalWidth, i.naturalHeight]))",
                "returnByValue": True,
            },
            session=session,
        )["result"]["value"]
        sections = chrome.send(
            "Runtime.evaluate",
            {
                "expression": "JSON.stringify([...document.querySelectorAll('main > section')]"
                ".map(s => s.id))",
                "returnByValue": True,
            },
            session=session,
        )["result"]["value"]
    finally:
        chrome.close()
    events = chrome.events
    return {
        "images": json.loads(images),
        "sections": json.loads(sections),
        "console_errors": [
            e["params"]
            for e in events
            if e["method"] == "Runtime.consoleAPICalled"
            and e["params"]["type"] in ("error", "assert", "warning")
        ],
        "exceptions": [e["params"] for e in events if e["method"] == "Runtime.exceptionThrown"],
        "log_errors": [
            e["params"]["entry"]
            for e in events
            if e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
        ],
        "requests": [
            e["params"]["request"]["url"]
            for e in events
            if e["method"] == "Network.requestWillBeSent"
        ],
    }


def _chromium_available() -> bool:
    if CHROMIUM.exists():
        return True
    if os.environ.get("CI"):
        pytest.fail(
            "CI must run the browser test: .ci/run installs Debian's chromium package, but "
            f"{CHROMIUM} is missing"
        )
    return False


def test_report_renders_in_headless_chromium(report, html_file, tmp_path):
    if not _chromium_available():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium package to run this test")
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory(prefix="govml-chromium-") as profile:
        subprocess.run(
            [
                str(CHROMIUM),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={shot}",
                "--window-size=1280,2400",
                html_file.as_uri(),
            ],
            check=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
    with tempfile.TemporaryDirectory(prefix="govml-chromium-") as profile:
        page = _inspect_page(html_file.as_uri(), Path(profile))
    keep = os.environ.get("GOVML_REPORT_SCREENSHOT")
    if keep:  # for a person to look at
        shutil.copy(shot, keep)

    assert page["console_errors"] == [] and page["exceptions"] == []
    assert page["log_errors"] == []
    # the page itself and its embedded images: nothing is fetched from anywhere else
    assert [u for u in page["requests"] if not u.startswith("data:")] == [html_file.as_uri()]
    assert sum(u.startswith("data:image/png;base64,") for u in page["requests"]) == len(
        report.figures
    )
    assert page["sections"] == [s.key for s in report.sections]
    assert len(page["images"]) == len(report.figures)
    for (complete, width, height), figure in zip(page["images"], report.figures, strict=True):
        assert complete and (width, height) == figure.size  # decoded, at its real size
    # the screenshot shows a rendered page: a PNG of the window with many colours
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50


def test_inspector_sees_console_errors_and_requests(tmp_path):
    """The browser check can fail: a page that logs an error and fetches a URL is caught."""
    if not _chromium_available():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium package to run this test")
    page = tmp_path / "bad.html"
    page.write_text(
        '<html><body><img class="plot" src="missing.png">'
        "<script>console.error('boom'); undefined_call();</script></body></html>"
    )
    with tempfile.TemporaryDirectory(prefix="govml-chromium-") as profile:
        result = _inspect_page(page.as_uri(), Path(profile))
    assert [e["args"][0]["value"] for e in result["console_errors"]] == ["boom"]
    assert len(result["exceptions"]) == 1
    assert result["images"] == [[True, 0, 0]]  # a broken image is "complete" but empty
    assert any(url.endswith("missing.png") for url in result["requests"])


# --------------------------------------------------------------------------- CLI


def test_cli_report_writes_the_file(small_world, small_models, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tables = govml.write_world(small_world, tmp_path / "world")
    out = tmp_path / "out" / "report.html"
    argv = [
        "report",
        "--tables",
        str(tables),
        "--model",
        str(small_models["low_quality"][1]),
        "--out",
        str(out),
        "--days",
        "14",
        "--no-track",
        "--no-monitor",
    ]
    assert main(argv) == 0
    assert out.is_file() and out.stat().st_size < rp.MAX_REPORT_BYTES
    assert f"report: {out}" in capsys.readouterr().out
    assert main(argv) == 2
    assert "already exists; pass overwrite=True (--overwrite)" in capsys.readouterr().err
    argv[argv.index("--model") + 1] = str(tmp_path / "no-model")
    assert main([*argv, "--overwrite"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(err) == 1 and err[0].startswith("govml report: error: no model at")


# --------------------------------------------------------------------------- training config


@pytest.fixture(scope="module")
def model_14d(small_world):
    """An adversarial model trained with a 14-day label horizon (the shared one uses 7D).

    Fewer trees and no refit keep it quick; those settings are not label settings, so the
    report never flags them.
    """
    cfg = small_config("adversarial").override(
        {"labels.horizon": "14D", "model.num_boost_round": 40, "model.refit": False}
    )
    return govml.train_task(small_world.tables, cfg, track=False).model


def _notes(report, key, level=None):
    return [n.text for n in report.section(key).notes if level is None or n.level == level]


def _labels_column(report):
    table = next(t for t in report.section("overview").tables if t.title == "models")
    return table.frame["labels"].tolist()


def _evaluated_rows(note):
    return int(re.search(r"([\d,]+) creator snapshots", note).group(1).replace(",", ""))


@pytest.fixture(scope="module")
def report_14d(small_world, small_models, model_14d):
    """The 14D model next to the shared 7D one, without configs: each uses its own."""
    messages = []
    report = build_report(
        small_world.tables,
        [model_14d, small_models["adversarial"][0]],
        period_days=14,
        monitor=False,
        progress=messages.append,
    )
    return report, messages


def test_a_model_trained_with_14d_is_reported_on_14d_labels(report_14d, model_14d):
    assert model_14d.training_config().labels.horizon == "14D"
    report, messages = report_14d
    assert _labels_column(report) == [
        "horizon 14D, resolution delay 7D, snapshots every 1D (as trained)",
        "horizon 7D, resolution delay 7D, snapshots every 1D (as trained)",
    ]
    notes = _notes(report, "performance")
    n14 = [n for n in notes if "(horizon 14D, resolution delay 7D)" in n]
    n7 = [n for n in notes if "(horizon 7D, resolution delay 7D)" in n]
    assert len(n14) == 1 and len(n7) == 1 and not any("30D" in n for n in notes)
    assert not _notes(report, "overview", "warning") and not any("warning" in m for m in messages)


def test_a_given_config_with_other_labels_is_used_with_a_warning(
    small_world, model_14d, report_14d
):
    given = small_config("adversarial")  # 7D: not what the model was trained with
    messages = []
    report = build_report(
        small_world.tables,
        model_14d,
        configs={"adversarial": given},
        period_days=14,
        monitor=False,
        progress=messages.append,
    )
    expected = (
        r"govml-adversarial v1 is evaluated with the configs\['adversarial'\] given to the "
        r"report, which differs from the model's training config: labels.horizon='7D' "
        r"\(trained with '14D'\)\. So its performance and policy backtest count other labels "
        r"than the model was trained for; leave configs\['adversarial'\] out"
    )
    for key in ("overview", "performance"):
        warnings_ = _notes(report, key, "warning")
        assert len(warnings_) == 1 and re.match(expected, warnings_[0])
    assert any(m.startswith("warning: govml-adversarial v1 is evaluated with") for m in messages)
    assert _labels_column(report) == [
        "horizon 7D, resolution delay 7D, snapshots every 1D (given, labels differ from training)"
    ]
    (n7,) = [n for n in _notes(report, "performance") if "(horizon 7D, resolution delay 7D)" in n]
    # the labels are built with the given horizon: the same model, the same training end, and
    # 7 more days of snapshots whose 7D labels are mature than with its own 14D horizon
    (n14,) = [n for n in _notes(report_14d[0], "performance") if "(horizon 14D," in n]
    assert 0 < _evaluated_rows(n14) < _evaluated_rows(n7)
    assert "labels.horizon=&#x27;7D&#x27; (trained with &#x27;14D&#x27;)" in report.to_html()


def test_a_given_config_with_another_snapshot_grid_is_flagged(small_world, model_14d):
    given = model_14d.training_config().override({"snapshots.freq": "2D"})
    report = build_report(
        small_world.tables, model_14d, configs={"adversarial": given}, period_days=14, monitor=False
    )
    (warning,) = _notes(report, "overview", "warning")
    assert "snapshots.freq='2D' (trained with '1D'). So its scores, performance and drift use " in (
        warning
    )
    assert "count other labels" not in warning


def test_a_given_config_with_the_same_labels_is_not_flagged(small_world, model_14d):
    # other evaluation settings, and the same horizon written in hours
    given = model_14d.training_config().override(
        {"evaluation.n_bootstrap": 0, "labels.horizon": "336h"}
    )
    report = build_report(
        small_world.tables, model_14d, configs={"adversarial": given}, period_days=14, monitor=False
    )
    assert not _notes(report, "overview", "warning")
    assert not _notes(report, "performance", "warning")
    assert _labels_column(report) == [
        "horizon 336h, resolution delay 7D, snapshots every 1D (given, same labels as trained)"
    ]


def test_a_model_without_a_training_config_uses_the_defaults(small_world, small_models):
    model = small_models["low_quality"][0]
    old = govml.GovmlModel(model.booster, dataclasses.replace(model.metadata, training_config=None))
    report = build_report(small_world.tables, old, period_days=14, monitor=False)
    assert _labels_column(report) == ["review delay 3D (defaults: no training config stored)"]
    given = small_config("low_quality").override({"labels.review_delay": "5D"})
    report = build_report(
        small_world.tables, old, configs={"low_quality": given}, period_days=14, monitor=False
    )
    assert _labels_column(report) == ["review delay 5D (given; no training config stored)"]
    assert not _notes(report, "overview", "warning")  # nothing to compare with


def test_a_model_with_an_unreadable_training_config_is_named(small_world, small_models):
    model = small_models["low_quality"][0]
    bad = dataclasses.replace(
        model.metadata, training_config={"task": "low_quality", "labels": {"horizn": "1D"}}
    )
    with pytest.raises(ConfigError, match=r"model govml-low_quality v1: its stored training"):
        build_report(small_world.tables, govml.GovmlModel(model.booster, bad), monitor=False)


def test_cli_report_configs_fall_back_to_the_yaml_only_for_models_without_one(
    small_models, model_14d, tmp_path, monkeypatch
):
    from govml.cli import _report_configs

    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "adversarial.yaml").write_text("task: adversarial\n")
    old = govml.GovmlModel(
        model_14d.booster, dataclasses.replace(model_14d.metadata, training_config=None)
    )
    assert _report_configs([model_14d], []) == {}  # build_report then uses the model's own
    fallback = _report_configs([old], [])
    assert fallback["adversarial"].labels.horizon == "30D"
    assert fallback["adversarial"].source == "experiments/adversarial.yaml"
    given = tmp_path / "given.yaml"
    given.write_text("task: adversarial\nlabels: {horizon: 60D}\n")
    assert _report_configs([model_14d], [str(given)])["adversarial"].labels.horizon == "60D"


def test_cli_report_uses_the_models_horizon_not_the_yaml(
    small_world, model_14d, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "adversarial.yaml").write_text("task: adversarial\n")  # 30D
    tables = govml.write_world(small_world, tmp_path / "world")
    out = tmp_path / "report.html"
    argv = [
        "report",
        "--tables",
        str(tables),
        "--model",
        str(model_14d.save(tmp_path / "model")),
        "--out",
        str(out),
        "--days",
        "14",
        "--no-track",
        "--no-monitor",
    ]
    assert main(argv) == 0
    html = out.read_text()
    assert "horizon 14D, resolution delay 7D" in html and "horizon 30D" not in html
    assert 'class="note warning"' not in html
    capsys.readouterr()
