"""What limits the adversarial-seller model: the model against partial oracles.

Trains the adversarial task on a simulated world (``experiments/adversarial.yaml``) and
scores the same test snapshots with the simulator's partial oracles, which know more
than any model learned from the tables: who is adversarial and from when, and
optionally each creator's true stream rate or violation intensity. Prints PR-AUC over
the full oracle's for each. The README's "Model quality" table comes from::

    python experiments/adversarial_limits.py --creators 3000    # the quickstart world
    python experiments/adversarial_limits.py --creators 10000

(3,000 creators: about 2 minutes and 3 GB; 10,000: about 4 minutes and 9 GB.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

import govml
from govml.training import build_training_data, load_config, oracle_scores, train_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, default=3000)
    parser.add_argument("--days", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bootstrap", type=int, default=200, help="resamples of the model CI")
    parser.add_argument(
        "--config", default=str(Path("experiments") / "adversarial.yaml"), help="experiment YAML"
    )
    args = parser.parse_args(argv)

    world = govml.simulate(n_creators=args.creators, n_days=args.days, seed=args.seed)
    config = load_config(args.config).override({"evaluation.n_bootstrap": 0})
    data = build_training_data(world.tables, config)
    result = train_model(data, config, oracle=oracle_scores(world.truth, data, config), track=False)
    test = data.frame.iloc[result.split.test_index]
    y = result.test_scores[result.label_col].to_numpy()
    oracle_ap = average_precision_score(y, result.test_scores["oracle"])
    # an observer's stream rate: sessions per day over the last 90 days (or the tenure)
    days = np.clip(np.minimum(90.0, test["tenure_days"].to_numpy(float)), 7.0, None)
    observed_rate = test["sess_count_90d"].fillna(0).to_numpy(float) / days
    ratio, low, high = result.oracle_ratio(n_bootstrap=args.bootstrap)
    rows = [("govml model (features from the tables only)", ratio, f" [{low:.2f}, {high:.2f}]")]
    partial = {
        "knows who is adversarial; rate from the last 90 days; mean intensity": {
            "intensity": "mean",
            "stream_rate": observed_rate,
        },
        "knows who is adversarial; true stream rates; mean intensity": {"intensity": "mean"},
        "knows who is adversarial; true intensities; rate from the last 90 days": {
            "stream_rate": observed_rate
        },
    }
    for name, known in partial.items():
        p = world.truth.adversarial_probability(
            test["creator_id"], test["snapshot_at"], horizon=config.labels.horizon, **known
        )
        rows.append((name, average_precision_score(y, p) / oracle_ap, ""))
    print(
        f"{args.creators:,} creators x {args.days} days (seed {args.seed}); test "
        f"{result.split.test.start:%Y-%m-%d} .. {result.split.test.end:%Y-%m-%d}, "
        f"{len(y):,} snapshots, {int(y.sum()):,} positive; oracle PR-AUC {oracle_ap:.3f}"
    )
    for name, value, ci in rows:
        print(f"  {name:72s} {value:.3f}{ci}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
