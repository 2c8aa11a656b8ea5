"""`asnet verify-data`: check the prepared datasets a training run reads, without training.

    asnet verify-data --data data/prepared --datasets salicon,thus10k,dut-omron

The work is done by `asnet_keras.data.verification` (docs/data_integrity.md §1).
"""

import argparse
import sys

from asnet_keras.commands import UsageError, positive, run_command
from asnet_keras.data.layout import check_prepared
from asnet_keras.data.verification import (
    DEFAULT_MODE,
    default_workers,
    format_problems,
    verify,
)
from asnet_keras.names import PAPER_TRAINING_DATASETS


def build_parser():
    """The argparse parser of `asnet verify-data`."""
    parser = argparse.ArgumentParser(
        prog="asnet verify-data",
        description=(
            "Check the prepared datasets a training run reads (what `asnet train` does "
            "before its first step): every listed id has its files, and each image and "
            "label is complete and has the size the layout records. Exit status 0: all "
            "readable; 1: problems (listed with the `asnet prepare` command that repairs "
            "them); 2: usage error."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data", default="data/prepared", help="prepared data root")
    parser.add_argument("--datasets", default=",".join(PAPER_TRAINING_DATASETS),
                        help="comma-separated dataset names (training's --datasets)")
    parser.add_argument("--mode", choices=("quick", "full"), default=DEFAULT_MODE,
                        help="quick: headers and completeness only; full: also decode every "
                        "pixel (docs/data_integrity.md §1)")
    parser.add_argument("--workers", type=positive(int), default=default_workers(), help="checking threads")
    parser.add_argument("--no-cache", action="store_true",
                        help="check every file, ignoring (and not updating) the cache of "
                        "earlier checks")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args):
    """Check the datasets; 1 if any file has a problem (each listed on stderr)."""
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if not datasets:
        raise UsageError("--datasets is empty: pass at least one dataset")
    check_prepared(args.data, datasets)
    result = verify(args.data, datasets, args.mode, workers=args.workers,
                    progress=not args.quiet, use_cache=not args.no_cache)
    print(result.summary())
    if result.problems:
        print(format_problems(result.problems, args.data, args.mode, limit=len(result.problems)),
              file=sys.stderr)
        return 1
    return 0


def main(argv=None):
    """`asnet verify-data`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
