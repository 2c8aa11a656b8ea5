"""`asnet evaluate`: score a trained ASNet, or a folder of any method's maps, on test sets.

    asnet evaluate --weights runs/paper --data data/prepared --out eval

The work is done by `asnet_keras.evaluation` (`api` for what is scored and written).
"""

import argparse
import os
import sys

from asnet_keras.commands import number, positive, run_command
from asnet_keras.devices import report_devices
from asnet_keras.evaluation import pred_dir_checks
from asnet_keras.evaluation.api import (
    DEFAULT_DATASETS,
    DEFAULT_SPLIT,
    evaluate_model,
    evaluate_pred_dir,
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="asnet evaluate",
        description=(
            "Score a trained ASNet (--weights) or a folder of any method's saliency maps "
            "(--pred-dir) on prepared test sets (paper §4; metrics of the MIT saliency benchmark and "
            "PySODMetrics, see asnet_keras.metrics). "
            "Writes OUT/<dataset>/results.json and results.md, OUT/summary.md and "
            "OUT/pr_curves.png."
        ),
        epilog=(
            "Examples:\n"
            "  asnet evaluate --weights runs/paper --data data/prepared --out eval\n"
            "  asnet evaluate --weights runs/paper/best.keras --datasets ecssd "
            "--all-outputs --save-maps --out eval\n"
            "  asnet evaluate --pred-dir maps/OTHER --datasets ecssd,hku-is "
            "--data data/prepared --out eval_other\n"
            "Prepare the data first: asnet prepare DATASET --src RAW --dst data/prepared\n"
            "Exit status: 0 scored, 1 the work failed, 2 usage error (unprepared data, "
            "missing maps without --allow-missing)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", help="trained model: run folder, .keras, .h5 or .weights.h5")
    source.add_argument("--pred-dir", help="folder of precomputed maps: <dir>/<dataset>/<id>.png "
                        "(or <dir>/<id>.png for one dataset)")
    parser.add_argument("--data", default="data/prepared", help="prepared data root (default: %(default)s)")
    parser.add_argument("--datasets", default=",".join(DEFAULT_DATASETS),
                        help="comma-separated prepared dataset names (default: %(default)s)")
    parser.add_argument("--split", default=DEFAULT_SPLIT, help="split to score (default: %(default)s)")
    parser.add_argument("--out", default="eval", help="output folder (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive(int), default=8, help="images per forward pass (default: %(default)s)")
    parser.add_argument("--input-size", type=positive(int), default=None,
                        help="model input side if the saved model has none (default: the model's, else 224)")
    parser.add_argument("--save-maps", action="store_true",
                        help="write every map as OUT/<dataset>/maps/<output>/<id>.png")
    parser.add_argument("--all-outputs", action="store_true",
                        help="also score saliency_conv5 … conv2 (Table 5 rows)")
    parser.add_argument("--seed", type=int, default=0, help="seed of AUC-Judd jitter and sAUC draws")
    parser.add_argument("--n-splits", type=positive(int), default=100, help="sAUC splits (MIT: 100)")
    parser.add_argument("--no-jitter", action="store_true", help="AUC-Judd without jitter (exact ties)")
    parser.add_argument("--limit", type=positive(int), default=None, help="score only the first N images per dataset")
    parser.add_argument("--allow-missing", action="store_true",
                        help="--pred-dir: score the images that have a map; the missing ones "
                        "are counted and named in results.json (default: a missing map stops "
                        "the evaluation)")
    parser.add_argument("--max-map-shrink", type=number(float, 0.0),
                        default=pred_dir_checks.DEFAULT_MAX_SHRINK,
                        help="--pred-dir: warn about maps smaller than their ground truth by "
                        "more than this factor on a side (0: off; maps of another aspect ratio "
                        "are always named) (default: %(default)s)")
    parser.add_argument("--name", default=None, help="label of the method in tables and plots")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def run(args):
    """Score what the arguments name; print the summary and any warnings."""
    common = dict(split=args.split, seed=args.seed, jitter=not args.no_jitter,
                  n_splits=args.n_splits, limit=args.limit, name=args.name,
                  progress=not args.quiet, batch_size=args.batch_size)
    if args.weights:
        report_devices("asnet evaluate")
        results = evaluate_model(args.weights, args.data, args.datasets, args.out,
                                 input_size=args.input_size, save_maps=args.save_maps,
                                 all_outputs=args.all_outputs, **common)
    else:
        results = evaluate_pred_dir(args.pred_dir, args.data, args.datasets, args.out,
                                    allow_missing=args.allow_missing,
                                    max_map_shrink=args.max_map_shrink, **common)
    for dataset, r in results.items():
        for w in r["warnings"]:
            print(f"warning: {dataset}: {w}", file=sys.stderr)
    with open(os.path.join(args.out, "summary.md"), encoding="utf-8") as f:
        print(f.read())
    print(f"Results written to {args.out}/")


def main(argv=None):
    """`asnet evaluate`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run)
