"""Command line: check the prepared datasets a training run reads, without training.

    python -m asnet_keras.verify_data --data data/prepared --datasets salicon,thus10k,dut-omron

The work is done by `asnet_keras.data.verification` (docs/data_integrity.md §1).
"""

import argparse
import sys

from asnet_keras.data.layout import check_prepared
from asnet_keras.data.verification import (
    DEFAULT_MODE,
    default_workers,
    format_problems,
    verify,
)
from asnet_keras.names import PAPER_TRAINING_DATASETS




def build_parser():
    """The argparse parser of `python -m asnet_keras.verify_data`."""
    parser = argparse.ArgumentParser(
        prog="python -m asnet_keras.verify_data",
        description=(
            "Check the prepared datasets a training run reads (what `python -m "
            "asnet_keras.train` does before its first step): every listed id has its "
            "files, and each image and label is complete and has the size the layout "
            "records. Exit status 0: all readable; 1: problems (listed with the "
            "data_prep command that repairs them); 2: usage error."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data", default="data/prepared", help="prepared data root")
    parser.add_argument("--datasets", default=",".join(PAPER_TRAINING_DATASETS),
                        help="comma-separated dataset names (training's --datasets)")
    parser.add_argument("--mode", choices=("quick", "full"), default=DEFAULT_MODE,
                        help="quick: headers and completeness only; full: also decode every "
                        "pixel (docs/data_integrity.md §1)")
    parser.add_argument("--workers", type=int, default=default_workers(), help="checking threads")
    parser.add_argument("--no-cache", action="store_true",
                        help="check every file, ignoring (and not updating) the cache of "
                        "earlier checks")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if not datasets or args.workers < 1:
        print("error: pass at least one dataset and --workers 1 or more", file=sys.stderr)
        return 2
    try:
        check_prepared(args.data, datasets)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = verify(args.data, datasets, args.mode, workers=args.workers,
                    progress=not args.quiet, use_cache=not args.no_cache)
    print(result.summary())
    if result.problems:
        print(format_problems(result.problems, args.data, args.mode, limit=len(result.problems)),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
