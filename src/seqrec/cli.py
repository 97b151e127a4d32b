"""Command line: ``seqrec train``, ``seqrec datasets``."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from seqrec.config import ConfigError, load_config
from seqrec.data.interactions import DataError


def _train(args: argparse.Namespace) -> int:
    from seqrec.experiments import run_experiment

    config = load_config(args.config, args.set or [])
    command = "seqrec " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    metrics = run_experiment(config, args.out, command=command)
    test = metrics["test"]
    print(
        "test: " + "  ".join(f"{k}={v:.4f}" for k, v in test.items())
        + f"\nbest epoch {metrics['best_epoch']} of {metrics['epochs']}, "
        f"{metrics['train_seconds']:.0f}s; written to {args.out}"
    )
    return 0


def _datasets(args: argparse.Namespace) -> int:
    from seqrec.data.catalog import describe_datasets

    rows = describe_datasets(args.data_dir)
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqrec", description="Sequential recommendation: train, evaluate, reproduce."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train and test one model from a TOML config")
    train.add_argument("--config", help="TOML file (every field has a default)")
    train.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a config value")
    train.add_argument("--out", default="runs/latest", help="output directory (default: runs/latest)")
    train.set_defaults(handler=_train)

    datasets = commands.add_parser("datasets", help="list the dataset catalog and local copies")
    datasets.add_argument("--data-dir", default=None, help="directory looked at first (else SEQREC_DATA_DIR)")
    datasets.set_defaults(handler=_datasets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (ConfigError, DataError, ValueError, FileNotFoundError) as error:
        print(f"seqrec: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seqrec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
