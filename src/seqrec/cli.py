"""Command line: ``seqrec train | reproduce | report | recommend | similar | evaluate | datasets``."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from seqrec.config import ConfigError, load_config
from seqrec.data.interactions import DataError


def _train(args: argparse.Namespace) -> int:
    from seqrec.runs import run_experiment

    command = "seqrec " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    if args.resume:
        if args.config or args.set:
            raise ConfigError("--resume takes its config from DIR/config.toml; drop --config and --set")
        args.out = args.resume
        config_path = Path(args.resume) / "config.toml"
        if not config_path.exists():
            raise ConfigError(f"{config_path}: not found; --resume needs a directory written by seqrec train")
        if args.overwrite:
            raise ConfigError("--resume continues the run in DIR; --overwrite would clear it: drop one of them")
        config = load_config(config_path)
        metrics = run_experiment(
            config, args.resume, resume=True, source=str(config_path), allow_changed_data=args.allow_changed_data
        )
    else:
        config = load_config(args.config, args.set or [])
        source = (args.config or "<defaults>") + (" with --set" if args.set else "")
        metrics = run_experiment(config, args.out, command=command, source=source, overwrite=args.overwrite)
    if "test" not in metrics:  # a non-zero rank under torchrun: rank 0 reports
        return 0
    test = metrics["test"]
    print(
        "test: "
        + "  ".join(f"{k}={v:.4f}" for k, v in test.items())
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


def _read_users(spec: str, user_col: str) -> list[str] | None:
    """``all`` -> None (every user); a .csv/.tsv/.parquet file -> its user column; else one id per line."""
    if spec == "all":
        return None
    from seqrec.cli_files import checked_path, read_ids

    return read_ids(checked_path(spec, "--users", " (or pass --users all)"), "user", (user_col, "user", "user_id"))


def _read_items(spec: str | None, flag: str, item_col: str) -> list[str] | None:
    """``--items`` / ``--exclude``: None when not given, else the item ids of the file."""
    if spec is None:
        return None
    from seqrec.cli_files import checked_path, read_ids

    return read_ids(checked_path(spec, flag), "item", (item_col, "item", "item_id"))


def _recommend(args: argparse.Namespace) -> int:
    from typing import Any

    from seqrec.api import load
    from seqrec.batch import write_recommendations
    from seqrec.cli_files import check_out_file

    out = Path(args.out)
    check_out_file(out)
    if args.chunk_users < 1:
        raise ValueError(f"--chunk-users must be at least 1, got {args.chunk_users}")
    model = load(args.model, args.device, args.allow_changed_data, args.allow_unfinished)
    users = _read_users(args.users, model.user_col)
    lists: dict[str, Any] = {"items": _read_items(args.items, "--items", model.item_col)}
    lists["exclude"] = _read_items(args.exclude, "--exclude", model.item_col)
    rows, n_users = write_recommendations(
        model,
        users,
        out,
        k=args.k,
        chunk_users=args.chunk_users,
        filter_seen=not args.keep_seen,
        on_unknown=args.on_unknown,
        **{key: ids for key, ids in lists.items() if ids is not None},  # only the flags given
    )
    print(f"{rows} recommendations for {n_users} users written to {out}")
    return 0


def _similar(args: argparse.Namespace) -> int:
    from seqrec.similar import similar_command

    options = (args.on_unknown, args.device, args.allow_changed_data, args.allow_unfinished)
    print(similar_command(args.model, args.items, args.k, args.metric, args.out, *options))
    return 0


def _export(args: argparse.Namespace) -> int:
    from seqrec.export import export

    manifest = export(args.model, args.out, args.force)
    print(f"exported {manifest['shapes']['items.npy'][0]} items to {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from seqrec.runs import backfill_per_user, rescore_run

    metrics, per_user = rescore_run(args.model, args.device, args.allow_changed_data, args.allow_unfinished)
    print(json.dumps(metrics, indent=2))
    print(backfill_per_user(args.model, per_user, args.allow_changed_data), file=sys.stderr)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from seqrec.compare import compare_command

    print(compare_command(args.runs, args.reference, args.metric, args.bootstrap), end="")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from seqrec.reproduce import data_file, reproduce

    if args.data is not None and args.dataset is not None:
        raise ConfigError("--data runs the grid on your file and --dataset on a catalog dataset: give one of them")
    if args.data is None and (args.format is not None or args.settings is not None):
        raise ConfigError(f"{'--format' if args.format is not None else '--settings'} applies to --data FILE only")
    data = None if args.data is None else data_file(args.data, args.format or "auto", args.settings)
    if data is not None and data.median_length is not None:
        print(f"{data.path.name}: median sequence length {data.median_length:g}: the paper's {data.settings} settings")
    print(
        reproduce(
            args.dataset or "synthetic",
            args.out,
            args.models.split(",") if args.models else None,
            args.seeds,
            args.max_epochs,
            args.quick,
            args.data_dir,
            grid=args.grid,
            data=data,
            dry_run=args.dry_run,
        )
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from seqrec.report import find_runs, write_report

    runs = find_runs([Path(d) for d in args.dirs])
    if not runs:
        raise ConfigError(f"no run directories (with config.toml) in {', '.join(args.dirs)}")
    out = Path(args.out) if args.out else Path(args.dirs[0])
    if args.html:
        from seqrec.report.html import require_finished

        require_finished(runs, ", ".join(args.dirs))  # before any file is written
    print(write_report(runs, out, quick=args.quick, html=args.html))
    if args.html:
        print(f"written {out / 'report.html'}")
    return 0


def _allow_flags(parser: argparse.ArgumentParser, unfinished: bool = True) -> None:
    """The overrides of the run-directory checks: a changed data file, an unfinished run."""
    parser.add_argument(
        "--allow-changed-data",
        action="store_true",
        help="use the run's data file even if it differs from the one it was trained on (ids may then be wrong)",
    )
    if unfinished:
        parser.add_argument(
            "--allow-unfinished",
            action="store_true",
            help="use the best.pt of a run without metrics.json (interrupted or still training)",
        )


def _os_error(error: OSError) -> str:
    """One line for a file-system error: the path(s) and the reason, without Python's ``[Errno N]``."""
    reason = error.strerror or str(error) or type(error).__name__
    if error.filename is None:
        return f"{reason} ({type(error).__name__})" if error.strerror else reason
    where = str(error.filename) + (f" -> {error.filename2}" if error.filename2 is not None else "")
    return f"{where}: {reason}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqrec", description="Sequential recommendation: train, evaluate, reproduce."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train and test one model from a TOML config")
    train.add_argument("--config", help="TOML file (every field has a default)")
    train.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a config value")
    train.add_argument("--out", default="runs/latest", help="output directory (default: runs/latest)")
    train.add_argument("--resume", metavar="DIR", help="continue an interrupted run from DIR/checkpoint.pt")
    train.add_argument(
        "--overwrite", action="store_true", help="clear an earlier run's files from --out first (else refused)"
    )
    _allow_flags(train, unfinished=False)
    train.set_defaults(handler=_train)

    reproduce = commands.add_parser("reproduce", help="the paper's table on one dataset, with time beside quality")
    reproduce.add_argument("--dataset", help="ml-1m, beauty, ... (default: built-in synthetic)")
    reproduce.add_argument("--data", metavar="FILE", help="your own interactions file instead of --dataset")
    reproduce.add_argument("--format", help="--data's format: pairs, user_lines, grouplens, udata, table, auto")
    reproduce.add_argument(
        "--settings",
        choices=["short", "long"],
        help="--data: the paper's settings for short (max_length 50) or long (200) sequences "
        "(default: long when the median sequence is longer than 50 items)",
    )
    reproduce.add_argument(
        "--grid",
        choices=["paper", "extended"],
        default="paper",
        help="the paper's four rows, or those plus one row per later loss, sampler and block (default: paper)",
    )
    reproduce.add_argument("--out", help="output directory (default: results/DATASET, or results/ and FILE's name)")
    reproduce.add_argument("--models", help="comma-separated subset of the grid's rows (see --dry-run)")
    reproduce.add_argument("--dry-run", action="store_true", help="print the planned runs and their configs; run none")
    reproduce.add_argument("--seeds", type=int, default=1, help="seeds per model; the table gives mean ± std")
    reproduce.add_argument("--max-epochs", type=int, help="cap every run's epochs (rows say when a run hit it)")
    reproduce.add_argument("--quick", action="store_true", help="a small budget for a demo, labelled as such")
    reproduce.add_argument("--data-dir", help="directory looked at first for dataset files")
    reproduce.set_defaults(handler=_reproduce)

    report = commands.add_parser("report", help="rebuild results.md/.csv and curves.png from run directories")
    report.add_argument("dirs", nargs="+", help="run directories, or directories holding them")
    report.add_argument("--out", help="where to write (default: the first directory)")
    report.add_argument("--quick", action="store_true", help="label the rows as a quick demo budget")
    report.add_argument(
        "--html", action="store_true", help="also write report.html: table, plots and example users in one file"
    )
    report.set_defaults(handler=_report)

    datasets = commands.add_parser("datasets", help="list the dataset catalog and local copies")
    datasets.add_argument("--data-dir", default=None, help="directory looked at first (else SEQREC_DATA_DIR)")
    datasets.set_defaults(handler=_datasets)

    recommend = commands.add_parser("recommend", help="top-K items for users from a run directory or saved model")
    recommend.add_argument("--model", required=True, help="a `seqrec train` run directory or a saved model file")
    recommend.add_argument("--users", default="all", help="'all', a file with one user id per line, or a CSV/parquet")
    recommend.add_argument("--k", type=int, default=10, help="items per user (default: 10)")
    recommend.add_argument("--out", required=True, help="output .csv, .tsv or .parquet (user, item, score, rank)")
    recommend.add_argument("--keep-seen", action="store_true", help="do not remove the items a user has seen")
    recommend.add_argument(
        "--on-unknown",
        choices=["error", "popular", "skip"],
        default="error",
        help="users not in the data: fail (default), most popular items, or leave out",
    )
    recommend.add_argument("--items", metavar="FILE", help="recommend only these items (one id per line, CSV/parquet)")
    recommend.add_argument("--exclude", metavar="FILE", help="never recommend these items (same formats as --items)")
    recommend.add_argument(
        "--chunk-users",
        type=int,
        default=10_000,
        metavar="N",
        help="users scored and written per chunk; memory grows with N, not with the users (default: 10000)",
    )
    recommend.add_argument("--device", default=None, help="torch device (default: the run's)")
    _allow_flags(recommend)
    recommend.set_defaults(handler=_recommend)

    similar = commands.add_parser("similar", help="nearest items to items by the model's output embeddings")
    similar.add_argument("--model", required=True, help="a `seqrec train` run directory or a saved model file")
    similar.add_argument("--items", default="all", help="'all', a file with one item id per line, or a CSV/parquet")
    similar.add_argument("--k", type=int, default=10, help="similar items per item (default: 10)")
    similar.add_argument("--metric", choices=["dot", "cosine"], default="dot", help="score (default: dot)")
    similar.add_argument("--out", required=True, help="output .csv, .tsv or .parquet (item, similar_item, score, rank)")
    similar.add_argument(
        "--on-unknown", choices=["error", "skip"], default="error", help="items not in the model: fail or leave out"
    )
    similar.add_argument("--device", default=None, help="torch device (default: the run's)")
    _allow_flags(similar)
    similar.set_defaults(handler=_similar)

    evaluate = commands.add_parser("evaluate", help="re-score a run on its split and print the metrics as JSON")
    evaluate.add_argument("--model", required=True, help="a `seqrec train` run directory")
    evaluate.add_argument("--device", default=None, help="torch device (default: the run's)")
    _allow_flags(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    compare = commands.add_parser("compare", help="paired significance of finished runs on one split, per user")
    compare.add_argument("runs", nargs="+", help="run directories (with per_user.npz), or directories holding them")
    compare.add_argument("--reference", metavar="RUN", help="the run the others are compared with (default: the first)")
    compare.add_argument("--metric", default="ndcg@10", help="ndcg@K, hr@K or mrr (default: ndcg@10)")
    compare.add_argument("--bootstrap", type=int, default=10_000, metavar="N", help="resamples for the 95%% CI")
    compare.set_defaults(handler=_compare)

    export = commands.add_parser("export", help="write encoder.onnx, items.npy, ids.json for serving with onnxruntime")
    export.add_argument("--model", required=True, help="a `seqrec train` run directory or a saved model file")
    export.add_argument("--out", required=True, help="directory to write (refused if it exists and is not empty)")
    export.add_argument("--force", action="store_true", help="replace an earlier export in --out")
    export.set_defaults(handler=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (ConfigError, DataError, ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"seqrec: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # PermissionError, IsADirectoryError, ENOSPC, ...: the path and the reason
        print(f"seqrec: error: {_os_error(error)}", file=sys.stderr)
        return 2
    except MemoryError as error:
        detail = f" ({error})" if str(error) else ""
        print(f"seqrec: error: out of memory{detail}; try a smaller batch_size or max_length", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seqrec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
