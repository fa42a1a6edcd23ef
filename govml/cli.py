"""The ``govml`` command line: a thin layer over the public API.

Every command follows one rule: a user error reaches the terminal as one clear
message on stderr and exit code 2, never a traceback (``--debug`` shows it).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from govml._exceptions import ConfigError, DataLoadError, GovmlError

__all__ = ["main", "build_parser"]

EXIT_OK = 0
EXIT_USAGE = 2

_EPILOG = """\
examples:
  govml quickstart                          simulate, validate, train, score and report end to end
  govml simulate --out data/world --creators 5000 --days 120 --seed 7
  govml validate data/world                 check exported tables against the contract
  govml contract --table sessions           print the data contract
  govml features --tables data/world --task low_quality --out lq.parquet
  govml train --task adversarial --tables data/world --set model.seed=3
  govml score --task low_quality --model models:/govml-low_quality@champion \\
      --tables data/world --as-of 2025-12-13 --out scores/lq/2025-12-13
  govml backtest --tables data/world --model models:/govml-adversarial@champion \\
      --policy experiments/policy_baseline.yaml --policy experiments/policy_strict.yaml \\
      --from 2025-11-01 --to 2025-11-30
  govml monitor --tables data/world --model models:/govml-low_quality@champion \\
      --reference 2025-09-01:2025-11-01 --current 2025-11-01:2025-12-01
  govml report --tables data/world --model models:/govml-low_quality@champion --out report.html

Every command's --help says what it reads and writes, with an example.
Settings come from environment variables (see README, "Configuration"):
MLFLOW_TRACKING_URI, GOVML_ARTIFACT_LOCATION, GOVML_MODELS_DIR, GOVML_DATA_DIR, GOVML_N_JOBS.
"""


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Step:
    """Prints ``name ...`` then the elapsed time when the block ends (progress on stderr)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> _Step:
        self.start = time.perf_counter()
        print(f"• {self.name} ...", end="", file=sys.stderr, flush=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        elapsed = time.perf_counter() - self.start
        status = "done" if exc_type is None else "failed"
        print(f" {status} ({elapsed:.1f}s)", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- commands


def _cmd_simulate(args: argparse.Namespace) -> int:
    from govml.simulation import simulate, write_world

    with _Step(f"simulating {args.creators:,} creators over {args.days} days (seed {args.seed})"):
        world = simulate(n_creators=args.creators, n_days=args.days, seed=args.seed)
    with _Step(f"writing tables to {args.out}"):
        out = write_world(world, args.out, overwrite=args.overwrite)
    counts = ", ".join(f"{name}={n:,}" for name, n in world.tables.n_rows().items())
    print(f"wrote {counts}")
    print(f"tables: {out}  ground truth: {out / 'truth'}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from govml.schema import ColumnMapping, check_tables, load_tables

    mapping = ColumnMapping.from_yaml(args.mapping) if args.mapping else None
    tables = load_tables(
        args.dir, mapping=mapping, assume_timezone=args.assume_timezone, validate=False
    )
    report = check_tables(tables, assume_timezone=args.assume_timezone)
    print(report)
    return EXIT_OK if report.ok else EXIT_USAGE


def _load(args: argparse.Namespace):
    from govml.schema import ColumnMapping, load_tables

    mapping = ColumnMapping.from_yaml(args.mapping) if getattr(args, "mapping", None) else None
    with _Step(f"loading and validating tables from {args.tables}"):
        return load_tables(
            args.tables, mapping=mapping, assume_timezone=getattr(args, "assume_timezone", None)
        )


def _spark_tables(args: argparse.Namespace):
    """--engine spark: start (or reuse) a SparkSession and read the tables with it."""
    from govml.schema import ColumnMapping
    from govml.spark import check_spark, read_tables, spark_session

    if getattr(args, "assume_timezone", None):
        raise ConfigError(
            "--assume-timezone does not apply to --engine spark: the Spark engine reads "
            "timestamp columns as instants; export aware timestamps or use --engine pandas"
        )
    check_spark()  # a missing pyspark or Java is one line, before any progress output
    mapping = ColumnMapping.from_yaml(args.mapping) if getattr(args, "mapping", None) else None
    with _Step("starting Spark"):
        spark = spark_session()
    with _Step(f"reading tables from {args.tables} with Spark"):
        return read_tables(spark, args.tables, mapping=mapping)


def _spark_features(args: argparse.Namespace) -> int:
    from govml.spark import write_features

    if Path(args.out).exists() and not args.overwrite:  # before Spark starts
        raise DataLoadError(f"{args.out} already exists; pass --overwrite to replace it")
    tables = _spark_tables(args)
    with _Step(f"building {args.task} features point in time on Spark into {args.out}"):
        written = write_features(
            tables,
            args.task,
            args.out,
            as_of=args.as_of,
            since=args.since,
            freq=args.freq,
            overwrite=args.overwrite,
        )
    print(
        f"{written.task}: {written.rows:,} rows, {len(written.features)} features "
        f"(catalogue {written.catalogue_version}), from {written.first} to {written.last}"
    )
    print(f"features: {written.path} (a folder of parquet parts)")
    return EXIT_OK


def _cmd_features(args: argparse.Namespace) -> int:
    from govml.features import build_features

    if args.engine == "spark":
        return _spark_features(args)
    tables = _load(args)
    with _Step(f"building {args.task} features point in time"):
        fs = build_features(tables, args.task, as_of=args.as_of, since=args.since, freq=args.freq)
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise DataLoadError(f"{out} already exists; pass --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with _Step(f"writing {len(fs):,} rows x {len(fs.features)} features to {out}"):
        fs.frame.to_parquet(tmp, index=False)
        tmp.replace(out)
    t = fs.frame[fs.time_col]
    print(
        f"{fs.task}: {len(fs):,} rows, {len(fs.features)} features "
        f"(catalogue {fs.catalogue_version}), {fs.time_col} from {t.min()} to {t.max()}"
    )
    print(f"features: {out}")
    return EXIT_OK


def _experiment(task: str, path: str | None, sets: list[str], tune: int | None):
    """The experiment config: --config, else experiments/<task>.yaml here, else built-in."""
    import yaml

    from govml.training.config import default_config, load_config

    if path is None and Path(f"experiments/{task}.yaml").is_file():
        path = f"experiments/{task}.yaml"
    config = load_config(path) if path else default_config(task)
    if config.task != task:
        raise ConfigError(f"{path} configures task {config.task!r}, but --task is {task!r}")
    overrides: dict[str, object] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r} must look like section.field=value")
        overrides[key.strip()] = yaml.safe_load(raw)
    if tune is not None:
        overrides["tune.n_trials"] = tune
    config = config.override(overrides) if overrides else config
    _log(f"• experiment config: {path or 'built-in defaults'}")
    return config


def _train(task: str, tables, config, truth, *, track: bool, cutoff=None):
    from govml._config import get_settings
    from govml.training.pipeline import train_task

    start = time.perf_counter()
    result = train_task(
        tables,
        config,
        truth=truth,
        cutoff=cutoff,
        track=track,
        models_dir=str(get_settings().models_dir),
        progress=lambda message: _log(f"  {message}"),
    )
    _log(f"• trained {task} in {time.perf_counter() - start:.0f}s")
    with _wide():
        print(
            f"\n{task}: test period {result.split.test.start:%Y-%m-%d} .. "
            f"{result.split.test.end:%Y-%m-%d}, sample: {result.sample}"
        )
        print(result.comparison.to_string())
    ratio = result.pr_auc_vs_oracle()
    if ratio is not None:
        print(f"model PR-AUC / oracle PR-AUC = {ratio:.3f}")
    if result.version is not None:
        print(
            f"registered {result.version.name} version {result.version.version} "
            f"(run {result.run_id})"
        )
    if result.promotion is not None:
        print(f"champion: {result.promotion.reason}")
    if result.model_path:
        print(f"model artifact: {result.model_path}")
    return result


class _wide:
    def __enter__(self) -> None:
        import pandas as pd

        self._ctx = pd.option_context("display.width", 250, "display.max_columns", 50)
        self._ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def _cmd_train(args: argparse.Namespace) -> int:
    tables = _load(args)
    truth = None
    truth_dir = Path(args.truth) if args.truth else Path(args.tables) / "truth"
    if args.truth or truth_dir.is_dir():
        from govml.simulation import read_truth

        truth = read_truth(truth_dir)
        _log(f"• ground truth from {truth_dir}: the oracle joins the evaluation")
    config = _experiment(args.task, args.config, args.set or [], args.tune)
    cutoff = None
    if args.cutoff:
        from govml._time import to_utc

        cutoff = to_utc(
            args.cutoff,
            lambda: ConfigError(
                f"--cutoff {args.cutoff!r} is not a timestamp; write e.g. 2026-01-31 (UTC)"
            ),
        )
    _train(args.task, tables, config, truth, track=not args.no_track, cutoff=cutoff)
    return EXIT_OK


def _cmd_contract(args: argparse.Namespace) -> int:
    import pandas as pd

    from govml.schema import describe_contract

    frame = describe_contract()
    if args.table:
        frame = frame[frame["table"] == args.table]
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(frame.to_string(index=False))
    return EXIT_OK


def _report_configs(models, paths: list[str]):
    """The configs build_report is given: --config files, else experiments/<task>.yaml, the
    latter only for a task with a model that records no training config (saved before govml
    stored it). Other models are labelled and evaluated with their own training config, so
    a model trained with --set labels.horizon=60D is not reported on the YAML's 30D labels;
    a --config whose labels differ from a model's training is flagged in the report."""
    from govml.training.config import load_config

    configs = {}
    for path in paths:
        config = load_config(path)
        configs[config.task] = config
    unknown = {m.metadata.task for m in models if m.metadata.training_config is None}
    for task in unknown - set(configs):
        if Path(f"experiments/{task}.yaml").is_file():
            configs[task] = load_config(f"experiments/{task}.yaml")
    return configs


def _cmd_report(args: argparse.Namespace) -> int:
    from govml.report import build_report, log_report
    from govml.tracking import load_model

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise DataLoadError(
            f"{out} already exists; pass overwrite=True (--overwrite) to replace it"
        )
    models = []
    for uri in args.model:
        with _Step(f"loading model {uri}"):
            models.append(load_model(uri))
    configs = _report_configs(models, args.config or [])
    policies = args.policy
    if policies is None and any(m.metadata.task == "adversarial" for m in models):
        policies = sorted(str(p) for p in Path("experiments").glob("policy_*.yaml"))
    if policies:
        from govml.policy import load_policy

        policies = [load_policy(path) for path in policies]  # a bad file fails before work
    tables = _load(args)
    truth = None
    truth_dir = Path(args.truth) if args.truth else Path(args.tables) / "truth"
    if args.truth or truth_dir.is_dir():
        from govml.simulation import read_truth

        truth = read_truth(truth_dir)
        _log(
            f"• ground truth from {truth_dir}: adds the false-penalty rate by truth and the "
            "detection lag of the injected pattern"
        )
    with _Step("building the report"):
        report = build_report(
            tables,
            models,
            configs=configs,
            policies=policies or None,
            truth=truth,
            end=args.end,
            period_days=args.days,
            backtest_days=args.backtest_days,
            monitor=not args.no_monitor,
            title=args.title,
            progress=lambda message: _log(f"  {message}"),
        )
    path = report.write(out, overwrite=args.overwrite)
    print(f"report: {path} ({path.stat().st_size / 1024:,.0f} KiB, {len(report.figures)} plots)")
    if not args.no_track:
        with _Step("logging the report to MLflow"):
            run_id = log_report(path, tags={"govml.report.models": " ".join(args.model)})
        print(f"MLflow run: {run_id} (artifact report/{path.name})")
    return EXIT_OK


def _cmd_backtest(args: argparse.Namespace) -> int:
    from govml.policy import backtest, load_policy

    policies = [load_policy(path) for path in args.policy]  # a bad policy fails before any work
    out = Path(args.out) if args.out else None
    names = ("compare.csv", "weekly.parquet", "tiers.parquet", "queue.parquet", "decisions.parquet")
    if out is not None and not args.overwrite and any((out / n).exists() for n in names):
        raise DataLoadError(
            f"{out} already holds backtest results; pass --overwrite to replace them"
        )
    tables = _load(args)
    truth = None
    truth_dir = Path(args.truth) if args.truth else Path(args.tables) / "truth"
    if args.truth or truth_dir.is_dir():
        from govml.simulation import read_truth

        truth = read_truth(truth_dir)
        _log(f"• ground truth from {truth_dir}: adds the false-penalty rate by truth")
    labels = ", ".join(p.label for p in policies)
    with _Step(f"replaying {labels} day by day from {args.start} to {args.end}"):
        result = backtest(
            tables,
            args.model,
            policies,
            start=args.start,
            end=args.end,
            truth=truth,
            horizon=args.horizon,
            resolution_delay=args.resolution_delay,
            warmup=args.warmup,
        )
    for note in result.notes:
        _log(f"  {note}")
    with _wide():
        print(
            result.compare().to_string(
                float_format=lambda v: f"{v:,.0f}" if float(v).is_integer() else f"{v:,.4f}"
            )
        )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        result.compare().to_csv(out / "compare.csv")
        for name in ("weekly", "tiers", "queue", "decisions"):
            tmp = out / f".{name}.parquet.tmp"
            getattr(result, name).to_parquet(tmp, index=False)
            tmp.replace(out / f"{name}.parquet")
        print(f"backtest tables: {out}/ ({', '.join(names)})")
    return EXIT_OK


def _spark_score(args: argparse.Namespace, model) -> int:
    from govml.spark import score_batch

    tables = _spark_tables(args)
    with _Step(f"scoring {args.task} as of {args.as_of} on Spark into {args.out}"):
        summary = score_batch(model, tables, **_score_options(args))
    print(summary)
    return EXIT_OK


def _score_options(args: argparse.Namespace) -> dict:
    """The scoring job's options from ``govml score``'s arguments (both engines)."""
    return {
        "task": args.task,
        "as_of": args.as_of,
        "since": args.since,
        "out": args.out,
        "top_k": args.top_k,
        "reasons_above": args.reasons_above,
        "max_unseen_features": args.max_unseen_features,
        "scored_at": args.scored_at,
        "overwrite": args.overwrite,
        "progress": lambda message: _log(f"\n  {message}"),
    }


def _cmd_score(args: argparse.Namespace) -> int:
    from govml.scoring import resolve_model, score_batch

    with _Step(f"loading model {args.model}"):
        model = resolve_model(args.model)  # a wrong URI fails before the tables load
    if args.engine == "spark":
        return _spark_score(args, model)
    tables = _load(args)
    with _Step(f"scoring {args.task} as of {args.as_of} into {args.out}"):
        summary = score_batch(model, tables, chunk_rows=args.chunk_rows, **_score_options(args))
    print(summary)
    return EXIT_OK


def _monitor_window(text: str, flag: str):
    """``(start, end)`` of ``D1:D2`` (or ``D1..D2``): UTC, ``end`` exclusive."""

    parts = text.split("..") if ".." in text else text.split(":")
    if len(parts) != 2:
        raise ConfigError(
            f"{flag} {text!r} must look like D1:D2, e.g. 2025-08-15:2026-02-01 (first day, "
            "then the day after the last; UTC)"
        )
    from govml._time import to_utc

    start, end = (
        to_utc(
            part.strip(),
            lambda: ConfigError(
                f"{flag} {text!r}: {parts} are not dates; write e.g. 2025-08-15:2026-02-01"
            ),
        )
        for part in parts
    )
    if not start < end:
        raise ConfigError(f"{flag} {text!r} does not end after it starts; write D1:D2 with D1 < D2")
    return start, end


def _cmd_monitor(args: argparse.Namespace) -> int:
    from govml.features import creator_features, creator_snapshots, session_features
    from govml.features.labels import session_labels
    from govml.monitor import detect_trends, drift_report
    from govml.tracking import load_model
    from govml.training.config import default_config

    ref = _monitor_window(args.reference, "--reference")
    cur = _monitor_window(args.current, "--current")
    out = Path(args.out) if args.out else None
    names = ("drift.parquet", "calibration.parquet", "trend_daily.parquet", "trend_alerts.parquet")
    if out is not None and not args.overwrite and any((out / n).exists() for n in names):
        raise DataLoadError(
            f"{out} already holds monitoring results; pass --overwrite to replace them"
        )
    with _Step(f"loading model {args.model}"):
        model = load_model(args.model)  # a wrong URI fails before the tables load
    task = model.metadata.task
    tables = _load(args)
    s = tables.sessions
    first, last = s["ended_at"].min(), s["ended_at"].max()
    end = max(ref[1], cur[1])
    with _Step("building session features point in time"):
        sessions = session_features(tables, session_ids=s.loc[s["ended_at"] < end, "session_id"])
    if task == "low_quality":
        audit = session_labels(tables).random_audit()  # the unbiased sample
        rows = sessions.frame.merge(audit[["session_id", "label"]], on="session_id", how="left")
        t = rows["ended_at"]
        windows = [rows[(t >= a) & (t < b)] for a, b in (ref, cur)]
        label_col, time_col = "label", "ended_at"
    else:
        windows = []
        # snapshot creators as the model's training did (govml's grid if it stores none)
        grid = (model.training_config() or default_config(task)).snapshots
        freq = args.freq or grid.freq
        for a, b in (ref, cur):
            snaps = creator_snapshots(
                tables, start=a, end=b, freq=freq, active_within=grid.active_within
            )
            windows.append(creator_features(tables, snaps).frame if len(snaps) else snaps)
        label_col, time_col = None, "snapshot_at"
    for (flag, text), rows in zip(
        (("--reference", args.reference), ("--current", args.current)), windows, strict=True
    ):
        if rows.empty:
            raise ConfigError(
                f"{flag} {text} holds no {task} rows; the sessions end between "
                f"{first:%Y-%m-%d} and {last:%Y-%m-%d}"
            )
    with _Step(
        f"drift of {task} features and score ({len(windows[0]):,} vs {len(windows[1]):,} rows)"
    ):
        drift = drift_report(
            windows[0], windows[1], model=model, label_col=label_col, time_col=time_col
        )
    with _Step("segment-day trend detection over the sessions"):
        trends = detect_trends(
            sessions,
            model=model if task == "low_quality" else None,
            since=cur[0],
            baseline=args.trend_baseline,
            reference=ref if args.trend_baseline == "frozen" else None,
        )
    print(drift)
    alerts = trends.alerts[trends.alerts["day"] < cur[1]]
    lines = str(trends).splitlines()
    print(lines[0])
    for line in lines[1 : 1 + args.max_alerts]:
        print(line)
    if len(alerts) > args.max_alerts:
        print(f"  ... {len(alerts) - args.max_alerts} more (trend_alerts.parquet with --out)")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        tables_out = {
            "drift": drift.frame,
            "calibration": drift.calibration,
            "trend_daily": trends.daily.join(trends.z),
            "trend_alerts": alerts,
        }
        for name, frame in tables_out.items():
            if frame is None:
                continue
            tmp = out / f".{name}.parquet.tmp"
            frame.to_parquet(tmp, index=False)
            tmp.replace(out / f"{name}.parquet")
        print(f"monitoring tables: {out}/ ({', '.join(n for n in names)})")
    return EXIT_OK


def _quickstart_scores(tables, trained: dict, folder: Path) -> None:
    """Batch-score the world's last day with the just-trained models; print a few reasons."""
    import pandas as pd

    from govml.scoring import read_scores, score_batch

    as_of = tables.sessions["ended_at"].max().normalize() + pd.Timedelta(days=1)
    for task, result in trained.items():
        model = result.version.model_uri if result.version is not None else result.model
        target = folder / task
        with _Step(f"batch-scoring {task} for {(as_of - pd.Timedelta(days=1)):%Y-%m-%d}"):
            summary = score_batch(model, tables, as_of=as_of, out=target, overwrite=True)
        print(f"\n{summary}")
        scored = read_scores(target)
        for _, row in scored.nlargest(3, "score").iterrows():
            codes = ", ".join(f"{r['code']} ({r['contribution']:+.2f})" for r in row["reasons"])
            print(
                f"    {row['entity_id']} ({row['market']}): score {row['score']:.3f}, tier "
                f"{row['tier']}, reasons {codes or '-'}"
            )


def _quickstart_report(tables, trained, truth, path: Path) -> None:
    """Write the HTML dashboard of both trained models and log it to MLflow."""
    from govml.report import build_report, log_report

    models = [result.model for result in trained.values()]
    policies = sorted(str(p) for p in Path("experiments").glob("policy_*.yaml"))
    _log("\n• writing the governance report")
    with _Step(f"building the report on the last 28 days ({len(policies)} policies)"):
        report = build_report(
            tables,
            models,
            configs=_report_configs(models, []),
            policies=policies or None,
            truth=truth,
            progress=lambda message: _log(f"  {message}"),
        )
    written = report.write(path, overwrite=True)
    run_id = log_report(written, tags={"govml.report.source": "quickstart"})
    print(
        f"\nreport: {written} ({written.stat().st_size / 1024:,.0f} KiB, "
        f"{len(report.figures)} plots; MLflow run {run_id})"
    )


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from govml._config import get_settings
    from govml.schema import load_tables
    from govml.simulation import simulate, write_world
    from govml.summary import summarize_tables

    out = Path(args.out) if args.out else get_settings().data_dir / "quickstart"
    with _Step(f"simulating {args.creators:,} creators over {args.days} days (seed {args.seed})"):
        world = simulate(n_creators=args.creators, n_days=args.days, seed=args.seed)
    with _Step(f"writing tables to {out}"):
        write_world(world, out, overwrite=True)
    with _Step("loading and validating the tables against the contract"):
        tables = load_tables(out)
    print(summarize_tables(tables))
    print(f"\ntables: {out}  ground truth: {out / 'truth'}")
    if args.no_train:
        return EXIT_OK
    trained = {}
    for task in ("low_quality", "adversarial"):
        _log(f"\n• training {task}")
        config = _experiment(task, None, [], None)
        trained[task] = _train(task, tables, config, world.truth, track=True)
    _quickstart_scores(tables, trained, out / "scores")
    _quickstart_report(tables, trained, world.truth, out / "report.html")
    from govml._config import get_settings

    settings = get_settings()
    print(
        f"\nMLflow runs: {settings.tracking_uri}  (browse: mlflow ui --backend-store-uri "
        f"{settings.tracking_uri})"
    )
    return EXIT_OK


# --------------------------------------------------------------------------- parser


def _add(
    sub: argparse._SubParsersAction,
    name: str,
    func: Callable[[argparse.Namespace], int],
    help_: str,
    description: str,
    example: str,
) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=help_,
        description=description,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``govml`` command (exposed for documentation and tests).

    Each command's parsed arguments carry the function that runs it (``args.func``).

    Examples
    --------
    >>> from govml.cli import build_parser
    >>> parser = build_parser()
    >>> parser.format_usage()
    'usage: govml [-h] [--version] [--debug] COMMAND ...\\n'
    >>> args = parser.parse_args(["contract", "--table", "sessions"])
    >>> args.command, args.table, args.debug, callable(args.func)
    ('contract', 'sessions', False, True)
    """
    from govml import __version__

    parser = argparse.ArgumentParser(
        prog="govml",
        description=(
            "govml scores live-shopping sessions and creators for marketplace governance: "
            "point-in-time features, LightGBM models, reason codes, MLflow tracking, "
            "batch scoring and policy."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"govml {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = _add(
        sub,
        "quickstart",
        _cmd_quickstart,
        "run the main job end to end on a simulated world",
        "Simulate a live-shopping world (the embedded default data), write its six tables "
        "as parquet, load and validate them against the contract, print a summary, then "
        "train, evaluate (against the rules and logistic baselines and the oracle) and "
        "register both models in the local MLflow store, batch-score the last day with both "
        "models (reason codes for flagged rows) and write the governance dashboard (score "
        "distributions, curves, reason codes, a backtest of experiments/policy_*.yaml, "
        "drift and trend alerts).\n"
        "Output: DIR/<table>.parquet and DIR/truth/ (default DIR: $GOVML_DATA_DIR/quickstart), "
        "DIR/scores/<task>/ (partitioned parquet + _SUCCESS), DIR/report.html, "
        "models/<task>/v<N>/, mlruns.db and mlartifacts/.",
        "govml quickstart --out data/quickstart",
    )
    p.add_argument("--out", help="folder for the simulated tables (default: data/quickstart)")
    p.add_argument("--creators", type=int, default=3000, help="creators (default 3000)")
    p.add_argument(
        "--days",
        type=int,
        default=300,
        help="days of history (default 300: the adversarial task needs two 51-day "
        "label-maturity gaps between its periods)",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--no-train", action="store_true", help="stop after the summary")

    p = _add(
        sub,
        "simulate",
        _cmd_simulate,
        "write a simulated world's six tables and ground truth as parquet",
        "Simulate a live-shopping marketplace and write the six contract tables as "
        "DIR/<table>.parquet, with the ground truth kept apart in DIR/truth/.",
        "govml simulate --out data/world --creators 5000 --days 120 --seed 7",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--creators", type=int, default=2000, help="creators (default 2000)")
    p.add_argument("--days", type=int, default=120, help="days of history (default 120)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")

    p = _add(
        sub,
        "validate",
        _cmd_validate,
        "check a folder of tables against the data contract",
        "Load DIR/<table>.parquet|csv (or a folder of parquet parts per table), check every "
        "contract rule and print one report listing every problem: table, column, check, "
        "failing rows, examples and the fix. Exit 0 when valid, 2 when not.",
        "govml validate exports/ --mapping my_columns.yaml --assume-timezone Asia/Jakarta",
    )
    p.add_argument("dir", help="folder holding the six tables")
    p.add_argument("--mapping", help="YAML column mapping from your column names to the contract")
    p.add_argument(
        "--assume-timezone",
        help="timezone of naive timestamps (e.g. UTC, Asia/Jakarta); naive values are "
        "rejected without it",
    )

    p = _add(
        sub,
        "features",
        _cmd_features,
        "build a task's point-in-time feature set to parquet",
        "Load and validate the tables in DIR, build the task's features as known at "
        "--as-of (every feature uses only facts known strictly before each row's time) and "
        "write them to a parquet file. low_quality: one row per session ended before "
        "--as-of (and at or after --since); adversarial: one snapshot per active creator "
        "at --as-of (or every --freq from --since).",
        "govml features --tables data/quickstart --task adversarial --as-of 2025-12-01 "
        "--out features.parquet",
    )
    p.add_argument("--tables", required=True, metavar="DIR", help="folder holding the six tables")
    p.add_argument("--task", required=True, choices=["low_quality", "adversarial"])
    p.add_argument("--out", required=True, help="output parquet file")
    p.add_argument("--as-of", help="scoring time (default: end of the data); dates are UTC")
    p.add_argument("--since", help="earliest row time (default: all sessions / only --as-of)")
    p.add_argument("--freq", default="1D", help="adversarial snapshot frequency (default 1D)")
    p.add_argument("--mapping", help="YAML column mapping from your column names")
    p.add_argument("--assume-timezone", help="timezone of naive timestamps in the tables")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument(
        "--engine",
        choices=["pandas", "spark"],
        default="pandas",
        help="pandas: one process, --out is one parquet file (default); spark: Apache Spark "
        "(pip install 'govml[spark]', Java 17), --out is a folder of parquet parts",
    )

    p = _add(
        sub,
        "train",
        _cmd_train,
        "train, evaluate and register a task's model",
        "Build the task's labels and point-in-time features from the tables, split them in "
        "time (periods separated by the label-maturity gap), fit a calibrated LightGBM model, "
        "evaluate it on the test period next to the rules and logistic-regression baselines "
        "(and the oracle when DIR/truth holds a simulated world's ground truth), log the run "
        "to MLflow, register the model and promote it to champion only if it beats the "
        "current champion on the same test period. The artifact is saved to "
        "$GOVML_MODELS_DIR/<task>/v<N>/.",
        "govml train --task low_quality --tables data/quickstart "
        "--config experiments/low_quality.yaml --tune 20",
    )
    p.add_argument("--tables", required=True, metavar="DIR", help="folder holding the six tables")
    p.add_argument("--task", required=True, choices=["low_quality", "adversarial"])
    p.add_argument("--config", help="experiment YAML (default: experiments/<task>.yaml if present)")
    p.add_argument("--tune", type=int, metavar="N", help="Optuna trials (needs govml[tune])")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set model.seed=3 (repeatable)",
    )
    p.add_argument("--truth", help="ground-truth folder (default: DIR/truth when present)")
    p.add_argument("--cutoff", help="train as of this time (default: end of the data)")
    p.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    p.add_argument("--mapping", help="YAML column mapping from your column names")
    p.add_argument("--assume-timezone", help="timezone of naive timestamps in the tables")

    p = _add(
        sub,
        "contract",
        _cmd_contract,
        "print the data contract",
        "Print every table's columns: kind, required, nullable, constraints, description "
        "and which column is the table's known-at time.",
        "govml contract --table sessions",
    )
    p.add_argument("--table", help="only this table")

    p = _add(
        sub,
        "report",
        _cmd_report,
        "write the self-contained HTML governance dashboard",
        "Load and validate the tables in DIR, load each --model (registry URI, run URI or "
        "model folder), score the last --days of the data and write one HTML file that "
        "works offline: score distributions per market, precision-recall and calibration "
        "curves on labelled rows after each model's training data, reason codes of the "
        "flagged rows and, with an adversarial-seller model, a backtest of the --policy "
        "files (default: experiments/policy_*.yaml) over the latest --backtest-days with "
        "mature labels, a PSI drift heatmap per model and the timeline of trend alerts per "
        "market x category and day. Summaries only (at most 5 MiB). The file is also logged "
        "to MLflow "
        "as the artifact report/<name> of a run in the experiment govml-reports.",
        "govml report --tables data/quickstart --model models:/govml-low_quality@champion "
        "--model models:/govml-adversarial@champion --out report.html",
    )
    p.add_argument("--tables", required=True, metavar="DIR", help="folder holding the six tables")
    p.add_argument(
        "--model",
        required=True,
        action="append",
        metavar="URI",
        help="model to report on: models:/<name>@<alias>, runs:/<id>/model or a folder "
        "(repeatable, e.g. both tasks' champions)",
    )
    p.add_argument("--out", required=True, help="output HTML file")
    p.add_argument("--days", type=int, default=28, help="report period in days (default 28)")
    p.add_argument("--end", help="end of the report period (default: end of the data), UTC")
    p.add_argument(
        "--config",
        action="append",
        metavar="YAML",
        help="experiment YAML of a model's task: labels and evaluation settings (default: the "
        "model's own training config; experiments/<task>.yaml only for models that record "
        "none; repeatable)",
    )
    p.add_argument(
        "--policy",
        action="append",
        metavar="YAML",
        help="governance policy to backtest with the adversarial model (repeatable; "
        "default: experiments/policy_*.yaml when an adversarial model is given)",
    )
    p.add_argument(
        "--backtest-days", type=int, default=28, help="days the policy backtest replays (28)"
    )
    p.add_argument("--truth", help="ground-truth folder (default: DIR/truth when present)")
    p.add_argument(
        "--no-monitor", action="store_true", help="leave out the drift and trend sections"
    )
    p.add_argument("--title", default="govml governance report", help="page title")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.add_argument("--no-track", action="store_true", help="do not log the report to MLflow")
    p.add_argument("--mapping", help="YAML column mapping from your column names")
    p.add_argument("--assume-timezone", help="timezone of naive timestamps in the tables")

    p = _add(
        sub,
        "backtest",
        _cmd_backtest,
        "replay governance policies over history and compare them",
        "Load and validate the tables in DIR, load the adversarial-seller --model (registry "
        "URI, run URI or model folder) and replay each --policy YAML day by day from --from "
        "to --to using only what was known each day: creator snapshot features and scores, "
        "account-health points, tiers with hysteresis, actions and each market's review "
        "queue. Prints the policies side by side (precision and recall against confirmed "
        "adversarial violations within --horizon, false-penalty rate, GMV affected, "
        "review-queue hit rate); with --out, writes compare.csv and weekly, tiers, queue and "
        "decisions tables (per market and week, per creator-day) as parquet. With DIR/truth "
        "(a simulated world) the false-penalty rate by ground truth is added.",
        "govml backtest --tables data/quickstart --model models:/govml-adversarial@champion "
        "--policy experiments/policy_baseline.yaml --policy experiments/policy_strict.yaml "
        "--from 2026-03-01 --to 2026-03-31 --out backtest/",
    )
    p.add_argument("--tables", required=True, metavar="DIR", help="folder holding the six tables")
    p.add_argument(
        "--model",
        required=True,
        metavar="URI",
        help="adversarial-seller model: models:/<name>@<alias>, runs:/<id>/model or a folder",
    )
    p.add_argument(
        "--policy",
        required=True,
        action="append",
        metavar="FILE",
        help="policy YAML (repeat to compare policies side by side)",
    )
    p.add_argument("--from", dest="start", required=True, metavar="D1", help="first day (UTC)")
    p.add_argument("--to", dest="end", required=True, metavar="D2", help="last day (UTC)")
    p.add_argument("--out", metavar="DIR", help="folder for the result tables")
    p.add_argument(
        "--horizon", help="creator label horizon (default: the model's training horizon, else 30D)"
    )
    p.add_argument(
        "--resolution-delay",
        help="wait for appeals after it (default: the model's training setting, else 21D)",
    )
    p.add_argument(
        "--warmup", default="14D", help="days replayed before D1 to settle tiers (default 14D)"
    )
    p.add_argument("--truth", help="ground-truth folder (default: DIR/truth when present)")
    p.add_argument("--overwrite", action="store_true", help="replace existing result tables")
    p.add_argument("--mapping", help="YAML column mapping from your column names")
    p.add_argument("--assume-timezone", help="timezone of naive timestamps in the tables")

    p = _add(
        sub,
        "score",
        _cmd_score,
        "batch-score a task as of a time into partitioned parquet (resumable)",
        "Load and validate the tables in DIR, build the task's point-in-time features as of "
        "--as-of in chunks (low_quality: sessions that ended in [--as-of - 1 day, --as-of), "
        "or [--since, --as-of); adversarial: one snapshot per creator active in the 30 days "
        "before --as-of, which must be midnight UTC), score them with --model (calibrated "
        "probability, tier from the model's thresholds, top --top-k reason codes for rows at "
        "or above the lowest tier threshold) and write parquet partitioned by market and date: "
        "OUT/market=<m>/date=<d>/part-*.parquet (schema: govml.scoring.OUTPUT_SCHEMA), rows "
        "that cannot be scored with their reason in OUT/_quarantine/, and the manifest "
        "OUT/_SUCCESS (row counts, model, input fingerprint, chunks) last. Interrupted, the "
        "same command resumes it without losing or duplicating a row; re-run after it "
        "finished, it does nothing; other arguments into the same OUT need --overwrite.",
        "govml score --task low_quality --model models:/govml-low_quality@champion "
        "--tables data/quickstart --as-of 2026-05-01 --out scores/low_quality/2026-05-01",
    )
    p.add_argument("--task", required=True, choices=["low_quality", "adversarial"])
    p.add_argument(
        "--model",
        required=True,
        metavar="URI",
        help="models:/<name>@<alias>, models:/<name>/<version>, runs:/<id>/model or a folder",
    )
    p.add_argument("--tables", required=True, metavar="DIR", help="folder holding the six tables")
    p.add_argument("--as-of", required=True, metavar="TIMESTAMP", help="scoring time (UTC)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--since", help="low_quality: score sessions ended from here (default 1 day)")
    p.add_argument("--top-k", type=int, default=3, help="reason codes per flagged row (default 3)")
    p.add_argument(
        "--reasons-above",
        type=float,
        metavar="P",
        help="probability from which rows get reasons (default: lowest tier threshold)",
    )
    p.add_argument(
        "--max-unseen-features",
        type=int,
        default=0,
        metavar="N",
        help="score rows with unseen category levels in at most N features (default 0: "
        "quarantine them)",
    )
    p.add_argument(
        "--chunk-rows", type=int, default=250_000, help="rows per chunk (memory; default 250000)"
    )
    p.add_argument("--scored-at", metavar="TIMESTAMP", help="scored_at of every row (default now)")
    p.add_argument("--overwrite", action="store_true", help="replace a different job in --out")
    p.add_argument(
        "--engine",
        choices=["pandas", "spark"],
        default="pandas",
        help="pandas: one process (default); spark: Apache Spark (pip install "
        "'govml[spark]', Java 17), one creator partition per chunk (--chunk-rows unused), "
        "same output folder",
    )
    p.add_argument("--mapping", help="YAML column mapping from your column names")
    p.add_argument("--assume-timezone", help="timezone of naive timestamps in the tables")

    p = _add(
        sub,
        "monitor",
        _cmd_monitor,
        "print drift and new-abuse-trend alerts between two windows",
        "Load and validate the tables in DIR and the --model (registry URI, run URI or "
        "model folder). Drift: the population stability index of every model feature and of "
        "the model score, per market and overall, between the --reference window (e.g. the "
        "training period) and the --current window (warning from PSI 0.1, alert from 0.25), "
        "and, for the low-quality model, calibration drift on the random-audit labels. "
        "Trends: session-level segment (market x category) daily alerts from the start of "
        "--current on, each day compared with the segment's own previous 28 days (with the "
        "low-quality model's score among the monitored aggregates). Windows are D1:D2, UTC, "
        "D2 excluded. With --out, writes drift, calibration, trend_daily (every segment-day "
        "with its z-scores) and trend_alerts as parquet.",
        "govml monitor --tables data/quickstart --model models:/govml-low_quality@champion "
        "--reference 2025-08-15:2026-02-07 --current 2026-03-01:2026-04-01 --out monitor/",
    )
    p.add_argument("--tables", required=True, metavar="DIR", help="folder holding the six tables")
    p.add_argument(
        "--model",
        required=True,
        metavar="URI",
        help="models:/<name>@<alias>, models:/<name>/<version>, runs:/<id>/model or a folder",
    )
    p.add_argument("--reference", required=True, metavar="D1:D2", help="reference window (UTC)")
    p.add_argument("--current", required=True, metavar="D3:D4", help="current window (UTC)")
    p.add_argument("--out", metavar="DIR", help="folder for the result tables (parquet)")
    p.add_argument(
        "--freq",
        help="adversarial model: creator snapshot frequency (default: the model's training "
        "grid, else 1D)",
    )
    p.add_argument("--max-alerts", type=int, default=20, help="trend alerts printed (default 20)")
    p.add_argument(
        "--trend-baseline",
        choices=("trailing", "frozen"),
        default="trailing",
        help="trends: compare each day with the segment's previous 28 days (trailing, the "
        "default: a persistent pattern is absorbed after about two weeks) or with its days in "
        "the --reference window (frozen: a persistent pattern stays flagged while it lasts)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing result tables")
    p.add_argument("--mapping", help="YAML column mapping from your column names")
    p.add_argument("--assume-timezone", help="timezone of naive timestamps in the tables")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``govml`` console script. Returns the process exit code.

    ``0`` on success; ``2`` for a user error (any :class:`~govml.GovmlError`), reported
    as one line on stderr without a traceback (``--debug`` raises it instead).

    Examples
    --------
    >>> from govml.cli import main
    >>> main(["contract", "--table", "reviews"])  # doctest: +ELLIPSIS
      table         column ...
    reviews      review_id ...
    ...
    0
    >>> import contextlib, io
    >>> err = io.StringIO()
    >>> with contextlib.redirect_stderr(err):
    ...     code = main(["validate", "no/such/folder"])
    >>> code, err.getvalue().startswith("govml validate: error: no folder at no/such/folder")
    (2, True)
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GovmlError as error:
        if args.debug:
            raise
        _log(f"govml {args.command}: error: {error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _log(f"govml {args.command}: interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
