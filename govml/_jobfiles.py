"""The on-disk protocol of a resumable batch-scoring job (internal API).

Both scoring engines, :func:`govml.scoring.score_batch` (one machine) and
:func:`govml.spark.score_batch` (Spark tasks write the chunks, the driver the rest),
write their output folder through this module only, so the folder a job leaves behind
(and what makes it resumable or complete) is defined in one place. Nothing here scores
or builds features: the engines decide *what* the rows are; this module decides how
they reach the disk.

Files of a job
--------------
::

    OUT/_job.json                  the job's spec: arguments and identity (written first)
    OUT/_lock                      "<host> <pid>" of the process writing the folder
    OUT/market=M/date=D/part-cNNNNN.parquet   scored rows of chunk NNNNN (Hive partitions)
    OUT/_quarantine/part-cNNNNN.parquet       quarantined rows of chunk NNNNN
    OUT/_chunks/cNNNNN.json        chunk NNNNN is complete: its files and row counts
    OUT/_SUCCESS                   the manifest (JSON), written last

Order of writes
---------------
1. :func:`check_out` compares the folder with the new job's spec (:func:`job_spec`):
   missing or empty means a fresh job; a ``_job.json`` with the same identity (see
   :func:`check_out`) means resume, or nothing to do when ``_SUCCESS`` exists
   (:func:`is_finished`); anything else is an error unless ``overwrite``.
2. :func:`open_job` takes ``_lock`` (a dead job's lock on this host is taken over),
   writes ``_job.json`` for a fresh job, reads the chunk records and deletes what an
   interrupted run left half-written (:func:`clean_partial`).
3. For every chunk, :func:`write_chunk` writes its parquet files, then its record
   ``_chunks/cNNNNN.json``: the record is the commit.
4. The engine checks the row accounting (:func:`check_accounting` reads every entity id
   back; the Spark engine does the same with Spark), then :func:`summarize` totals the
   records and :func:`write_success` writes ``_SUCCESS``. :func:`open_job` removes the
   lock when the block ends, also on error.

Every file is written by :func:`write_atomic`: to a hidden temporary name
(``.NAME.PID.tmp``), flushed to disk, then renamed into place.

Resumable and complete
----------------------
A chunk counts only once its record exists. Files of chunks without a record, and
temporary files, are deleted on the next run; the entities in recorded chunks are
skipped and the rest is built and written again, so a job killed at any moment and
re-run with the same arguments ends with every input row written exactly once. A job is
complete exactly when ``_SUCCESS`` exists: readers (:func:`read_success`,
:func:`govml.scoring.read_scores`) refuse a folder without it, and read only the files
the manifest lists.

The environment variable ``GOVML_SCORING_CRASH=<event>:<n>`` is a test hook: the
process SIGKILLs itself at the n-th ``event`` (:func:`crash_point`), so tests can stop a
job between any two writes.

Examples
--------
A whole job, one chunk, on a tiny model (the engines add feature building and progress
messages around these calls):

>>> import tempfile
>>> from pathlib import Path
>>> import numpy as np, pandas as pd
>>> from govml import _jobfiles as jf
>>> from govml.model import GovmlModel
>>> from govml.scoring import OUTPUT_SCHEMA, resolve_model, score_frame
>>> from govml.training.lgbm import fit_lightgbm
>>> df = pd.DataFrame({"x": np.arange(600.0), "y": np.arange(600) % 7 == 0})
>>> fit = fit_lightgbm(df[:400], df[400:], features=["x"], label="y", num_boost_round=5,
...                    num_threads=1)
>>> model = resolve_model(GovmlModel.from_fit(fit, task="low_quality", name="demo"))
>>> frame = pd.DataFrame({"session_id": ["s1", "s2", "s3"], "market": ["ID", "ID", None],
...                       "x": [1.0, 2, 3], "ended_at": pd.Timestamp("2025-09-02T10:00Z")})
>>> as_of = pd.Timestamp("2025-09-03", tz="UTC")
>>> spec = jf.job_spec(task="low_quality", model=model, as_of=as_of,
...                    window_start=as_of - pd.Timedelta(days=1), active_within="30D",
...                    top_k=3, reasons_above=None, max_unseen_features=0, input_rows=3,
...                    input_fingerprint="f" * 64, scored_at=as_of)
>>> work = tempfile.TemporaryDirectory()
>>> out = Path(work.name) / "scores"
>>> stored = jf.check_out(out, spec, explicit_scored_at=True, overwrite=False)
>>> stored is None  # a fresh job
True
>>> with jf.open_job(out, spec, stored) as job:
...     result = score_frame(model.model, frame, scored_at=as_of, num_threads=1)
...     job.records[0] = jf.write_chunk(out, 0, result)
...     jf.check_accounting(out, pd.Index(["s1", "s2", "s3"]), job.records)
...     summary = job.summary()
...     jf.write_success(out, job.spec, summary, job.records,
...                      output_columns=OUTPUT_SCHEMA.names)
>>> for path in sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()):
...     print(path)
_SUCCESS
_chunks/c00000.json
_job.json
_quarantine/part-c00000.parquet
market=ID/date=2025-09-02/part-c00000.parquet
>>> jf.read_success(out)["rows"], dict(summary.quarantine_reasons)
({'input': 3, 'quarantined': 1, 'scored': 2}, {'missing_market': 1})
>>> jf.is_finished(out, jf.check_out(out, spec, explicit_scored_at=True, overwrite=False))
True
>>> work.cleanup()
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from govml._exceptions import ScoringError

if TYPE_CHECKING:
    import pyarrow as pa

    from govml.scoring import ResolvedModel, ScoredChunk

__all__ = [
    "FORMAT",
    "JOB",
    "LOCK",
    "SUCCESS",
    "CHUNKS",
    "QUARANTINE",
    "PARTITIONS",
    "CRASH_ENV",
    "ScoreSummary",
    "OpenJob",
    "crash_point",
    "write_atomic",
    "write_json",
    "read_json",
    "partition_dir",
    "chunk_name",
    "record_path",
    "write_chunk",
    "read_records",
    "chunk_files",
    "clean_partial",
    "written_ids",
    "take_lock",
    "iso",
    "job_spec",
    "check_out",
    "is_finished",
    "open_job",
    "summarize",
    "write_success",
    "read_success",
    "sample",
    "check_accounting",
]

#: Version of the folder layout, recorded in the spec (a job of another format is another job).
FORMAT = 1
#: The job's spec (arguments and identity), written first.
JOB = "_job.json"
#: Host and pid of the process writing the folder.
LOCK = "_lock"
#: The manifest, written last: its presence is what makes a job complete.
SUCCESS = "_SUCCESS"
#: Folder of the chunk records (``cNNNNN.json``): a chunk counts once its record exists.
CHUNKS = "_chunks"
#: Folder of the quarantined rows' files.
QUARANTINE = "_quarantine"
#: Hive partition columns of the scored rows (folder names, not columns in the files).
PARTITIONS = ("market", "date")
#: Test hook: ``<event>:<n>`` kills the process at the n-th event (see :func:`crash_point`).
CRASH_ENV = "GOVML_SCORING_CRASH"
_crash_counts: dict[str, int] = {}


# --------------------------------------------------------------------------- the summary


@dataclass(frozen=True)
class ScoreSummary:
    """What a :func:`score_batch` job did (also what ``OUT/_SUCCESS`` records).

    Attributes
    ----------
    out : Path
        The output folder.
    status : {"completed", "resumed", "already_complete"}
        A fresh job ran to the end; an interrupted one was finished; or the folder
        already held this finished job and nothing was done.
    task, model_name, model_version : str
    model_uri : str or None
        Pinned model location (``models:/<name>/<version>`` for registry models).
    as_of, scored_at : Timestamp
    window_start : Timestamp or None
        Start of the low-quality window (None for adversarial snapshots).
    n_input, n_scored, n_quarantined : int
        ``n_scored + n_quarantined == n_input`` always.
    quarantine_reasons : mapping of str to int
        Quarantined rows per reason code.
    tiers : mapping of str to int
        Scored rows per tier.
    n_chunks : int
        Chunks in the output.
    n_chunks_reused : int
        Chunks found complete from an interrupted run (not rebuilt).
    n_scored_unseen : int
        Scored rows with category levels never seen in training (within
        ``max_unseen_features``; flagged ``unseen_category`` in the output).
    input_fingerprint : str
        SHA-256 over the table rows known before ``as_of``.

    Examples
    --------
    :func:`score_batch` and :func:`read_manifest` return one (see their examples); it
    prints as the job's report:

    >>> import pandas as pd
    >>> from pathlib import Path
    >>> from govml.scoring import ScoreSummary
    >>> summary = ScoreSummary(
    ...     out=Path("scores"), status="resumed", task="low_quality", model_name="demo",
    ...     model_version="1", model_uri=None, as_of=pd.Timestamp("2025-09-03", tz="UTC"),
    ...     window_start=pd.Timestamp("2025-09-02", tz="UTC"),
    ...     scored_at=pd.Timestamp("2025-09-03T06:00", tz="UTC"), n_input=1200, n_scored=1190,
    ...     n_quarantined=10, quarantine_reasons={"missing_market": 10},
    ...     tiers={"none": 1100, "review": 90}, n_chunks=3, n_chunks_reused=2)
    >>> print(summary)
    low_quality: resumed an interrupted job: 1,200 rows (sessions ended in [2025-09-02 00:00:00+00:00, 2025-09-03 00:00:00+00:00)) with demo version 1
      scored 1,190, quarantined 10 (input 1,200) in 3 chunk(s), 2 reused
      tiers: none=1,100, review=90
      quarantine reasons: missing_market=10
      output: scores  (quarantine: scores/_quarantine, manifest: scores/_SUCCESS)
    """

    out: Path
    status: Literal["completed", "resumed", "already_complete"]
    task: str
    model_name: str
    model_version: str
    model_uri: str | None
    as_of: pd.Timestamp
    window_start: pd.Timestamp | None
    scored_at: pd.Timestamp
    n_input: int
    n_scored: int
    n_quarantined: int
    quarantine_reasons: Mapping[str, int] = field(default_factory=dict)
    tiers: Mapping[str, int] = field(default_factory=dict)
    n_chunks: int = 0
    n_chunks_reused: int = 0
    input_fingerprint: str = ""
    n_scored_unseen: int = 0

    def __str__(self) -> str:
        window = (
            f"sessions ended in [{self.window_start}, {self.as_of})"
            if self.window_start is not None
            else f"creator snapshots at {self.as_of}"
        )
        model = f"{self.model_name} version {self.model_version}"
        head = {
            "completed": f"scored {self.n_input:,} rows ({window}) with {model}",
            "resumed": f"resumed an interrupted job: {self.n_input:,} rows ({window}) with {model}",
            "already_complete": f"nothing to do: {self.out} already holds this finished job "
            f"({self.n_input:,} rows, {window}, {model})",
        }[self.status]
        tiers = ", ".join(f"{k}={v:,}" for k, v in self.tiers.items()) or "-"
        reasons = ", ".join(f"{k}={v:,}" for k, v in self.quarantine_reasons.items()) or "-"
        return "\n".join(
            [
                f"{self.task}: {head}",
                f"  scored {self.n_scored:,}, quarantined {self.n_quarantined:,} "
                f"(input {self.n_input:,}) in {self.n_chunks} chunk(s)"
                + (f", {self.n_chunks_reused} reused" if self.n_chunks_reused else ""),
                f"  tiers: {tiers}"
                + (
                    f" ({self.n_scored_unseen:,} scored with unseen category levels)"
                    if self.n_scored_unseen
                    else ""
                ),
                f"  quarantine reasons: {reasons}",
                f"  output: {self.out}  (quarantine: {self.out / QUARANTINE}, "
                f"manifest: {self.out / SUCCESS})",
            ]
        )


# Public as govml.scoring.ScoreSummary (re-exported there, documented and doctested
# there): keep that name for pickles, the type's repr and the docs. It lives here
# because it is the in-memory form of the _SUCCESS manifest (summarize, read_success).
ScoreSummary.__module__ = "govml.scoring"


# --------------------------------------------------------------------------- writing files


def crash_point(event: str) -> None:
    """Test hook: SIGKILL this process at the n-th ``event`` when ``GOVML_SCORING_CRASH``
    is ``<event>:<n>`` (``:<n>`` defaults to 1); do nothing otherwise.

    Events: ``tmp_written`` and ``renamed`` (:func:`write_atomic`), ``chunk_committed``
    (:func:`write_chunk`), ``job_written`` and ``before_success`` (the single-machine
    job), so tests can kill a job between any two steps of the protocol.

    Examples
    --------
    >>> import os
    >>> from govml._jobfiles import CRASH_ENV, crash_point
    >>> CRASH_ENV in os.environ
    False
    >>> crash_point("renamed")  # not asked for: nothing happens
    """
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != event:
        return
    _crash_counts[event] = _crash_counts.get(event, 0) + 1
    if _crash_counts[event] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` through a hidden temporary file, flush it to disk, rename it into place.

    A reader sees the old file or the whole new one, never a part. The temporary file
    (``.NAME.PID.tmp`` next to ``path``) is removed if ``write`` fails; one left by a
    killed process is removed by :func:`clean_partial`.

    Parameters
    ----------
    path : Path
        Final location (its folder must exist).
    write : callable
        Called with the open binary file handle.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from govml._jobfiles import write_atomic
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_atomic(Path(tmp) / "a.txt", lambda handle: handle.write(b"hello"))
    ...     print((Path(tmp) / "a.txt").read_text(), [p.name for p in Path(tmp).iterdir()])
    hello ['a.txt']
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        crash_point("tmp_written")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    crash_point("renamed")


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` atomically as indented JSON with sorted keys (non-JSON values as
    ``str``), one trailing newline.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from govml._jobfiles import read_json, write_json
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_json(Path(tmp) / "x.json", {"b": 1, "a": Path("p")})
    ...     print((Path(tmp) / "x.json").read_text(), end="")
    ...     read_json(Path(tmp) / "x.json")
    {
      "a": "p",
      "b": 1
    }
    {'a': 'p', 'b': 1}
    """
    text = (json.dumps(data, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8")
    write_atomic(path, lambda handle: handle.write(text))


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object written by :func:`write_json`.

    Raises
    ------
    ScoringError
        The file is unreadable, not JSON, or not an object (a damaged output).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from govml._jobfiles import read_json
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / "x.json").write_text("[1]")
    ...     read_json(Path(tmp) / "x.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: .../x.json does not hold a JSON object; re-run with --overwrite
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ScoringError(
            f"{path} is unreadable ({exc}); the scoring output is damaged: re-run with "
            "overwrite=True (--overwrite) to score into it from scratch"
        ) from None
    if not isinstance(data, dict):
        raise ScoringError(f"{path} does not hold a JSON object; re-run with --overwrite")
    return data


def _write_parquet(path: Path, table: pa.Table) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda handle: pq.write_table(table, handle, compression="zstd"))


def partition_dir(market: str, date: str) -> str:
    """The Hive partition folder of scored rows (values URL-quoted).

    Examples
    --------
    >>> from govml._jobfiles import partition_dir
    >>> partition_dir("ID", "2025-09-02"), partition_dir("a/b", "x")
    ('market=ID/date=2025-09-02', 'market=a%2Fb/date=x')
    """
    from urllib.parse import quote

    return f"market={quote(market, safe='')}/date={quote(date, safe='')}"


def chunk_name(chunk: int) -> str:
    """Name of chunk ``chunk`` in file names (``part-<name>.parquet``, ``<name>.json``).

    Examples
    --------
    >>> from govml._jobfiles import chunk_name
    >>> chunk_name(3)
    'c00003'
    """
    return f"c{chunk:05d}"


def record_path(out: Path, chunk: int) -> Path:
    """Where chunk ``chunk``'s record is (the chunk is complete once it exists).

    Examples
    --------
    >>> from pathlib import Path
    >>> from govml._jobfiles import record_path
    >>> record_path(Path("out"), 3).as_posix()
    'out/_chunks/c00003.json'
    """
    return out / CHUNKS / f"{chunk_name(chunk)}.json"


def write_chunk(out: Path, chunk: int, result: ScoredChunk) -> dict[str, Any]:
    """Write one chunk's parquet files, then its record (the commit); return the record.

    Scored rows go to one file per market and date partition, quarantined rows to
    ``_quarantine/``; the record lists the files (relative to ``out``, in write order)
    and counts the chunk's rows, tiers, unseen-category rows and quarantine reasons.

    Parameters
    ----------
    out : Path
        The job's folder.
    chunk : int
        Chunk number (unique in the job).
    result : govml.scoring.ScoredChunk
        The chunk's scored and quarantined rows.

    Returns
    -------
    dict
        The record as written to :func:`record_path`: ``chunk``, ``files``, ``rows``
        (``input``, ``scored``, ``quarantined``), ``tiers``,
        ``scored_with_unseen_category``, ``quarantine_reasons``.

    Examples
    --------
    The module example writes one.
    """
    name = chunk_name(chunk)
    scored_t, quarantined_t = result.to_arrow()
    files: list[str] = []
    if result.n_scored:
        keys = result.scored["market"].astype(str) + "\x00" + result.scored["date"].astype(str)
        codes, uniques = pd.factorize(keys, sort=True)
        body = scored_t.drop_columns(list(PARTITIONS))
        for g, key in enumerate(uniques):
            market, date = key.split("\x00")
            rel = f"{partition_dir(market, date)}/part-{name}.parquet"
            _write_parquet(out / rel, body.take(np.flatnonzero(codes == g)))
            files.append(rel)
    if result.n_quarantined:
        rel = f"{QUARANTINE}/part-{name}.parquet"
        _write_parquet(out / rel, quarantined_t)
        files.append(rel)
    record = {
        "chunk": chunk,
        "files": files,
        "rows": {
            "input": result.n_input,
            "scored": result.n_scored,
            "quarantined": result.n_quarantined,
        },
        "tiers": {str(k): int(v) for k, v in result.scored["tier"].value_counts().items()},
        "scored_with_unseen_category": int(result.scored["unseen_category"].sum()),
        "quarantine_reasons": {
            str(k): int(v) for k, v in result.quarantined["reason_code"].value_counts().items()
        },
    }
    (out / CHUNKS).mkdir(exist_ok=True)
    write_json(record_path(out, chunk), record)
    crash_point("chunk_committed")
    return record


# --------------------------------------------------------------------------- reading state


def read_records(out: Path) -> dict[int, dict[str, Any]]:
    """The committed chunks' records, by chunk number (empty when there are none).

    Raises
    ------
    ScoringError
        A record is damaged (:func:`read_json`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from govml._jobfiles import read_records, record_path, write_json
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = Path(tmp)
    ...     empty = read_records(out)
    ...     (out / "_chunks").mkdir()
    ...     write_json(record_path(out, 4), {"chunk": 4, "files": []})
    ...     empty, read_records(out)
    ({}, {4: {'chunk': 4, 'files': []}})
    """
    folder = out / CHUNKS
    if not folder.is_dir():
        return {}
    records = {}
    for path in sorted(folder.glob("c*.json")):
        record = read_json(path)
        records[int(record["chunk"])] = record
    return records


def chunk_files(records: Mapping[int, Mapping[str, Any]]) -> list[str]:
    """Every file the records list (relative to the job's folder), in record order.

    Examples
    --------
    >>> from govml._jobfiles import chunk_files
    >>> chunk_files({0: {"files": ["a", "b"]}, 1: {"files": ["c"]}})
    ['a', 'b', 'c']
    """
    return [f for r in records.values() for f in r["files"]]


def clean_partial(out: Path, records: Mapping[int, Mapping[str, Any]]) -> int:
    """Delete temporary files and the files of chunks that never committed; return how
    many files were deleted. Empty folders left behind are removed too.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from govml._jobfiles import clean_partial
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = Path(tmp)
    ...     (out / "m").mkdir()
    ...     for name in ("m/part-c00000.parquet", "m/part-c00001.parquet", ".x.1.tmp", "keep"):
    ...         _ = (out / name).write_text("")
    ...     removed = clean_partial(out, {0: {"files": ["m/part-c00000.parquet"]}})
    ...     removed, sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    (2, ['keep', 'm', 'm/part-c00000.parquet'])
    """
    committed = set(chunk_files(records))
    removed = 0
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(out).as_posix()
        is_tmp = path.name.startswith(".") and path.name.endswith(".tmp")
        is_orphan = path.name.startswith("part-c") and rel not in committed
        if is_tmp or is_orphan:
            path.unlink()
            removed += 1
    for path in sorted(out.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return removed


def written_ids(out: Path, files: Sequence[str]) -> pd.Series:
    """The ``entity_id`` column of ``files`` (relative to ``out``), concatenated as str.

    Raises
    ------
    ScoringError
        A listed file is missing (the output was changed by hand).

    Examples
    --------
    >>> from pathlib import Path
    >>> from govml._jobfiles import written_ids
    >>> written_ids(Path("out"), []).tolist()
    []
    >>> written_ids(Path("out"), ["gone.parquet"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: out/gone.parquet is listed as written but is missing; ...
    """
    import pyarrow.parquet as pq

    parts = []
    for rel in files:
        path = out / rel
        if not path.is_file():
            raise ScoringError(
                f"{path} is listed as written but is missing; the scoring output was "
                "changed by hand: re-run with overwrite=True (--overwrite)"
            )
        parts.append(pq.read_table(path, columns=["entity_id"]).column(0).to_pandas())
    if not parts:
        return pd.Series([], dtype="str")
    return pd.concat(parts, ignore_index=True).astype("str")


# --------------------------------------------------------------------------- the lock


def take_lock(out: Path, *, retry: bool = True) -> Path:
    """Create ``OUT/_lock`` holding ``"<host> <pid>"``; return its path.

    A lock left by a dead process on this host is taken over (once); the caller
    deletes the lock when done (:func:`open_job` does).

    Raises
    ------
    ScoringError
        A job on another host holds the lock, or a live process on this host does.

    Examples
    --------
    >>> import os, tempfile
    >>> from pathlib import Path
    >>> from govml._jobfiles import take_lock
    >>> work = tempfile.TemporaryDirectory()
    >>> lock = take_lock(Path(work.name))
    >>> lock.name, lock.read_text().split()[1] == str(os.getpid())
    ('_lock', True)
    >>> take_lock(Path(work.name))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: another scoring job (pid ...) is writing to ...
    >>> work.cleanup()
    """
    path = out / LOCK
    host_name = socket.gethostname()
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        holder = path.read_text(encoding="utf-8").strip() if path.exists() else ""
        host, _, pid = holder.partition(" ")
        if host and host != host_name:
            raise ScoringError(
                f"{out} is locked by a scoring job on host {host!r} ({path}); wait for it or, "
                "if it is dead, delete the lock file"
            ) from None
        if not retry or (pid.isdigit() and _alive(int(pid))):
            raise ScoringError(
                f"another scoring job (pid {pid or '?'}) is writing to {out}; wait for it to "
                f"finish, or delete {path} if that process is not a govml job"
            ) from None
        path.unlink(missing_ok=True)  # a killed job's lock
        return take_lock(out, retry=False)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"{host_name} {os.getpid()}\n")
    return path


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- the job's spec


def iso(ts: pd.Timestamp | None) -> str | None:
    """A timestamp as the spec stores it (ISO 8601), None as None.

    Examples
    --------
    >>> import pandas as pd
    >>> from govml._jobfiles import iso
    >>> iso(pd.Timestamp("2025-09-03", tz="UTC")), iso(None)
    ('2025-09-03T00:00:00+00:00', None)
    """
    return None if ts is None else ts.isoformat()


def job_spec(
    *,
    task: str,
    model: ResolvedModel,
    as_of: pd.Timestamp,
    window_start: pd.Timestamp | None,
    active_within: str,
    top_k: int,
    reasons_above: float | None,
    max_unseen_features: int,
    input_rows: int | None,
    input_fingerprint: str,
    scored_at: pd.Timestamp,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The spec of a job, as ``_job.json`` stores it (plus ``started_at``, added by
    :func:`open_job`).

    Every field except ``model_uri``, ``scored_at`` and ``started_at`` is the job's
    identity (:func:`check_out`); ``active_within`` is recorded for adversarial jobs
    only; ``extra`` adds engine-specific fields (the Spark job records ``engine`` and
    ``partitions``), which are part of the identity too.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> from govml._jobfiles import job_spec
    >>> model = SimpleNamespace(name="demo", version="2", sha256="ab", uri=None)
    >>> spec = job_spec(task="low_quality", model=model, as_of=pd.Timestamp("2025-09-03", tz="UTC"),
    ...                 window_start=None, active_within="30D", top_k=3, reasons_above=None,
    ...                 max_unseen_features=0, input_rows=10, input_fingerprint="f",
    ...                 scored_at=pd.Timestamp("2025-09-03T06:00", tz="UTC"), extra={"engine": "x"})
    >>> spec["model"], spec["as_of"], spec["active_within"], spec["engine"]
    ({'name': 'demo', 'version': '2', 'sha256': 'ab'}, '2025-09-03T00:00:00+00:00', None, 'x')
    """
    return {
        "format": FORMAT,
        "task": task,
        "model": {"name": model.name, "version": model.version, "sha256": model.sha256},
        "model_uri": model.uri,
        "as_of": iso(as_of),
        "window_start": iso(window_start),
        "active_within": active_within if task == "adversarial" else None,
        "top_k": int(top_k),
        "reasons_above": None if reasons_above is None else float(reasons_above),
        "max_unseen_features": int(max_unseen_features),
        "input_rows": input_rows,
        "input_fingerprint": input_fingerprint,
        "scored_at": iso(scored_at),
        **(extra or {}),
    }


def _identity(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that make two runs the same job (not the model URI nor scored_at)."""
    return {k: v for k, v in spec.items() if k not in ("model_uri", "scored_at", "started_at")}


def _differences(stored: Mapping[str, Any], spec: Mapping[str, Any]) -> list[str]:
    a, b = _identity(stored), _identity(spec)
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            if key == "model":
                sa, sb = a.get(key) or {}, b.get(key) or {}
                out.append(
                    f"model: {sa.get('name')} version {sa.get('version')} "
                    f"(sha256 {str(sa.get('sha256'))[:12]}) vs now {sb.get('name')} version "
                    f"{sb.get('version')} (sha256 {str(sb.get('sha256'))[:12]})"
                )
            elif key == "input_fingerprint":
                out.append("input: the tables' rows known before as_of changed")
            else:
                out.append(f"{key}: {a.get(key)!r} vs now {b.get(key)!r}")
    return out


def check_out(
    out: Path, spec: Mapping[str, Any], *, explicit_scored_at: bool, overwrite: bool
) -> dict[str, Any] | None:
    """What the output folder holds for a job with ``spec``: None (start fresh) or the
    stored spec (resume, or nothing to do when :func:`is_finished`).

    Two runs are the same job when their specs agree on every field but ``model_uri``,
    ``scored_at`` and ``started_at`` (and on ``scored_at`` too when the new run gives
    it explicitly). A folder holding another job is deleted when ``overwrite``; a
    folder govml did not write never is.

    Raises
    ------
    ScoringError
        ``out`` is a file; it is not empty and holds no ``_job.json``; or it holds
        another job and ``overwrite`` is False.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from govml._jobfiles import check_out, write_json
    >>> spec = {"task": "low_quality", "top_k": 3, "scored_at": "2025-09-03T00:00:00+00:00"}
    >>> work = tempfile.TemporaryDirectory()
    >>> out = Path(work.name)
    >>> fresh = check_out(out, spec, explicit_scored_at=False, overwrite=False)  # empty
    >>> write_json(out / "_job.json", spec)
    >>> same = check_out(out, spec, explicit_scored_at=False, overwrite=False)
    >>> fresh, same == spec
    (None, True)
    >>> check_out(out, {**spec, "top_k": 2}, explicit_scored_at=False, overwrite=False)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: ... with different arguments (top_k: 3 vs now 2); pass ...
    >>> work.cleanup()
    """
    if not out.exists():
        return None
    if not out.is_dir():
        raise ScoringError(f"--out {out} exists and is not a folder; pass a folder path")
    if not any(out.iterdir()):
        return None
    job = out / JOB
    if not job.is_file():
        raise ScoringError(
            f"--out {out} is not empty and holds no govml scoring job ({JOB} is missing); "
            "pick a new or empty folder (govml never deletes folders it did not write)"
        )
    stored = read_json(job)
    diffs = _differences(stored, spec)
    if explicit_scored_at and stored.get("scored_at") != spec["scored_at"]:
        diffs.append(f"scored_at: {stored.get('scored_at')!r} vs now {spec['scored_at']!r}")
    if not diffs:
        return stored
    if overwrite:
        shutil.rmtree(out)
        return None
    raise ScoringError(
        f"{out} holds a scoring job with different arguments ({'; '.join(diffs)}); pass "
        "--overwrite (overwrite=True) to replace it, or pick another --out"
    )


def is_finished(out: Path, stored: Mapping[str, Any] | None) -> bool:
    """Whether ``out`` holds this job finished: :func:`check_out` found it and its
    ``_SUCCESS`` exists.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from govml._jobfiles import is_finished
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     before = is_finished(Path(tmp), {"task": "x"})
    ...     _ = (Path(tmp) / "_SUCCESS").write_text("{}")
    ...     before, is_finished(Path(tmp), {"task": "x"}), is_finished(Path(tmp), None)
    (False, True, False)
    """
    return stored is not None and (out / SUCCESS).is_file()


@dataclass(frozen=True)
class OpenJob:
    """A job folder held by this process (see :func:`open_job`).

    Attributes
    ----------
    out : Path
        The job's folder.
    spec : dict
        The job's spec as stored: a resumed job keeps its first ``scored_at`` and
        ``started_at``.
    records : dict of int to dict
        Committed chunks by number; the engine adds the records of the chunks it writes.
    resumed : bool
        The folder held this job, interrupted.
    removed : int
        Files of uncommitted chunks and temporary files deleted on opening.
    reused : int
        Chunks committed before opening (by an interrupted run).
    """

    out: Path
    spec: dict[str, Any]
    records: dict[int, dict[str, Any]]
    resumed: bool
    removed: int
    reused: int

    def summary(self) -> ScoreSummary:
        """The job's :class:`ScoreSummary` from its records so far (:func:`summarize`),
        ``"resumed"`` or ``"completed"``."""
        status: Literal["completed", "resumed"] = "resumed" if self.resumed else "completed"
        return summarize(self.out, self.spec, self.records, status=status, reused=self.reused)


@contextmanager
def open_job(
    out: Path,
    spec: Mapping[str, Any],
    stored: Mapping[str, Any] | None,
    *,
    progress: Callable[[str], object] | None = None,
) -> Iterator[OpenJob]:
    """Hold the job folder for the block: create it, take the lock, write ``_job.json``
    (fresh job: ``spec`` plus ``started_at``) or adopt the stored ``scored_at`` and
    ``started_at`` (resumed job), read the chunk records and clean what an interrupted
    run left half-written. The lock is removed when the block ends, also on error.

    Parameters
    ----------
    out : Path
        The job's folder.
    spec : mapping
        The new run's spec (:func:`job_spec`).
    stored : mapping or None
        What :func:`check_out` returned.
    progress : callable, optional
        Told, when resuming, how many chunks are done and how many partial files were
        removed.

    Yields
    ------
    OpenJob

    Raises
    ------
    ScoringError
        The lock is held (:func:`take_lock`) or a record is damaged.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from govml._jobfiles import open_job, read_json
    >>> spec = {"task": "low_quality", "scored_at": "2025-09-03T00:00:00+00:00"}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = Path(tmp) / "scores"
    ...     with open_job(out, spec, None) as job:
    ...         locked = (out / "_lock").exists()
    ...     stored = read_json(out / "_job.json")
    ...     with open_job(out, {**spec, "scored_at": "later"}, stored, progress=print) as again:
    ...         pass
    ...     locked, (out / "_lock").exists(), job.resumed, again.resumed, again.spec["scored_at"]
    resuming: 0 chunk(s) already written, 0 partial file(s) of an interrupted chunk removed
    (True, False, False, True, '2025-09-03T00:00:00+00:00')
    """
    out.mkdir(parents=True, exist_ok=True)
    lock = take_lock(out)
    try:
        if stored is None:
            spec = {**spec, "started_at": iso(pd.Timestamp.now(tz="UTC").floor("us"))}
            write_json(out / JOB, spec)
        else:
            spec = {
                **spec,
                "scored_at": stored["scored_at"],
                "started_at": stored.get("started_at"),
            }
        records = read_records(out)
        removed = clean_partial(out, records)
        if stored is not None and progress is not None:
            progress(
                f"resuming: {len(records)} chunk(s) already written, {removed} partial file(s) "
                "of an interrupted chunk removed"
            )
        yield OpenJob(
            out=out,
            spec=spec,
            records=records,
            resumed=stored is not None,
            removed=removed,
            reused=len(records),
        )
    finally:
        lock.unlink(missing_ok=True)


# --------------------------------------------------------------------------- finishing


def summarize(
    out: Path,
    spec: Mapping[str, Any],
    records: Mapping[int, Mapping[str, Any]],
    *,
    status: Literal["completed", "resumed", "already_complete"],
    reused: int,
) -> ScoreSummary:
    """The job's :class:`ScoreSummary`: ``spec`` plus the totals of the chunk records.

    Tiers are listed most frequent first, quarantine reasons by code.

    Examples
    --------
    >>> from pathlib import Path
    >>> from govml._jobfiles import summarize
    >>> spec = {"task": "low_quality", "model": {"name": "demo", "version": "1"},
    ...         "as_of": "2025-09-03T00:00:00+00:00", "scored_at": "2025-09-03T06:00:00+00:00",
    ...         "window_start": None, "input_fingerprint": "f"}
    >>> record = {"rows": {"input": 3, "scored": 2, "quarantined": 1},
    ...           "tiers": {"none": 1, "review": 1}, "quarantine_reasons": {"missing_key": 1}}
    >>> s = summarize(Path("out"), spec, {0: record, 1: record}, status="resumed", reused=1)
    >>> s.n_input, s.n_scored, dict(s.tiers), dict(s.quarantine_reasons), s.n_chunks
    (6, 4, {'none': 2, 'review': 2}, {'missing_key': 2}, 2)
    """
    tiers: dict[str, int] = {}
    reasons: dict[str, int] = {}
    n_in = n_scored = n_quarantined = n_unseen = 0
    for record in records.values():
        n_unseen += record.get("scored_with_unseen_category", 0)
        n_in += record["rows"]["input"]
        n_scored += record["rows"]["scored"]
        n_quarantined += record["rows"]["quarantined"]
        for k, v in record["tiers"].items():
            tiers[k] = tiers.get(k, 0) + v
        for k, v in record["quarantine_reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
    model = spec["model"]
    start = spec.get("window_start")
    return ScoreSummary(
        out=out,
        status=status,
        task=spec["task"],
        model_name=model["name"],
        model_version=model["version"],
        model_uri=spec.get("model_uri"),
        as_of=pd.Timestamp(spec["as_of"]),
        window_start=None if start is None else pd.Timestamp(start),
        scored_at=pd.Timestamp(spec["scored_at"]),
        n_input=n_in,
        n_scored=n_scored,
        n_quarantined=n_quarantined,
        quarantine_reasons=MappingProxyType(dict(sorted(reasons.items()))),
        tiers=MappingProxyType(dict(sorted(tiers.items(), key=lambda kv: -kv[1]))),
        n_chunks=len(records),
        n_chunks_reused=reused,
        input_fingerprint=spec["input_fingerprint"],
        n_scored_unseen=n_unseen,
    )


def write_success(
    out: Path,
    spec: Mapping[str, Any],
    summary: ScoreSummary,
    records: Mapping[int, Mapping[str, Any]],
    *,
    output_columns: Sequence[str],
) -> None:
    """Write the ``_SUCCESS`` manifest, last: the spec, the row counts, tiers and
    quarantine reasons of ``summary``, every chunk record (by number), ``finished_at``,
    the scored rows' columns and the partition columns.

    Examples
    --------
    The module example writes one; :func:`read_success` reads it.
    """
    manifest = {
        **spec,
        "rows": {
            "input": summary.n_input,
            "scored": summary.n_scored,
            "quarantined": summary.n_quarantined,
        },
        "tiers": dict(summary.tiers),
        "scored_with_unseen_category": summary.n_scored_unseen,
        "quarantine_reasons": dict(summary.quarantine_reasons),
        "chunks": [records[k] for k in sorted(records)],
        "finished_at": iso(pd.Timestamp.now(tz="UTC").floor("us")),
        "output_schema": list(output_columns),
        "partitioning": list(PARTITIONS),
    }
    write_json(out / SUCCESS, manifest)


def read_success(out: Path) -> dict[str, Any]:
    """The ``_SUCCESS`` manifest of a finished job.

    Raises
    ------
    ScoringError
        The folder holds no finished job, or the manifest is damaged.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from govml._jobfiles import read_success
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     read_success(Path(tmp))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: ... holds no finished scoring job (_SUCCESS is missing): ...
    """
    path = Path(out) / SUCCESS
    if not path.is_file():
        raise ScoringError(
            f"{out} holds no finished scoring job ({SUCCESS} is missing): the job is still "
            "running, was interrupted (re-run it with the same arguments to finish it), or "
            "the folder is not a scoring output"
        )
    return read_json(path)


def sample(values: Sequence[Any] | Iterator[Any], *, k: int = 3) -> str:
    """A few values for an error message (reprs), and how many there are in all.

    Examples
    --------
    >>> from govml._jobfiles import sample
    >>> sample(["a", "b"]), sample(range(5))
    ("'a', 'b'", '0, 1, 2, ... (5 in all)')
    """
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:k])
    return shown + (f", ... ({len(values)} in all)" if len(values) > k else "")


def check_accounting(
    out: Path, input_ids: pd.Index, records: Mapping[int, Mapping[str, Any]]
) -> None:
    """Check that every input row is in the output exactly once (scored or
    quarantined), reading every written entity id back; the last check before
    :func:`write_success`.

    Raises
    ------
    ScoringError
        Ids written twice, missing or not in the input, or the records' input counts
        disagree with ``input_ids``.

    Examples
    --------
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> from govml._jobfiles import check_accounting
    >>> check_accounting(Path("out"), pd.Index([]), {})  # nothing in, nothing out: fine
    >>> check_accounting(Path("out"), pd.Index(["s1"]), {})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govml._exceptions.ScoringError: row accounting failed in out: 1 input rows, 0 written; ...
    """
    ids = written_ids(out, chunk_files(records))
    n_rows = sum(r["rows"]["input"] for r in records.values())
    duplicated = ids[ids.duplicated()].unique().tolist()
    missing = input_ids[~input_ids.isin(ids)].tolist()
    extra = ids[~ids.isin(input_ids)].unique().tolist()
    found = []
    if n_rows != len(input_ids):
        found.append(f"the chunk records say {n_rows:,}")
    if duplicated:
        found.append(f"{len(duplicated):,} written more than once ({sample(duplicated)})")
    if missing:
        found.append(f"{len(missing):,} missing ({sample(missing)})")
    if extra:
        found.append(f"{len(extra):,} not in the input ({sample(extra)})")
    if found or len(ids) != len(input_ids):
        raise ScoringError(
            f"row accounting failed in {out}: {len(input_ids):,} input rows, {len(ids):,} "
            f"written; {'; '.join(found) or 'counts differ'}. The output is not trustworthy: "
            "re-run with overwrite=True (--overwrite)"
        )
