"""`asnet reproduce`: from the downloaded datasets to Tables 2–4 beside the paper's.

    asnet reproduce --raw ~/raw --out reproduction
    asnet reproduce --raw ~/raw --out reproduction --estimate-only   # the time it will take

Prepares every dataset found under --raw, verifies it, times a few training steps and
prints the estimated time, trains with the paper's schedule, evaluates on the test sets
beside a centre-bias baseline, executes the notebooks and writes OUT/report/. Each stage
is skipped when its outputs are complete: run the same command again to resume. The work
is `asnet_keras.reproduction` (docs/reproduce.md).
"""

import argparse
import os

from asnet_keras.commands import number, positive, run_command
from asnet_keras.data.verification import MODES as VERIFY_MODES
from asnet_keras.devices import report_devices
from asnet_keras.reproduction import FAILURES, RawSource, Settings, reproduce
from asnet_keras.reproduction.report import REPORT_MD
from asnet_keras.training.config import TrainConfig

PAPER = TrainConfig()  # the paper's schedule: every training default below is its

EPILOG = """stages (each skipped when complete; docs/reproduce.md):
  prepare DATASET  every dataset found under --raw (asnet prepare all)
  verify           the files training reads (asnet verify-data)
  estimate         a few training steps timed here; the estimated total time printed
  train            the paper's schedule (asnet train; resumes mid-epoch from its backup)
  evaluate         the test sets found (asnet evaluate --save-maps)
  baseline         a centre-bias map per test image, scored the same way
  notebooks        Tables 2-4 and Figures 5-6 executed into OUT/notebooks/
then OUT/report/README.md and report.json: our numbers beside the paper's.

--raw holds one folder or archive per dataset, named after it (salicon/, thus10k/ or
MSRA10K_Imgs_GT.zip, DUT-OMRON/, pascal-s/ or salObj.zip, mit1003/, ecssd/, HKU-IS.rar
...; data_prep/README.md). Datasets not found are named in the report.

exit status: 0 done (or --estimate-only done); 1 the work failed (a dataset not
prepared, unreadable data, training diverged, OUT in use, a notebook failed: the report
is still written); 2 usage error (--raw missing or without the paper's training sets, a
bad value, training inputs changed since OUT/run was started)."""


def build_parser():
    """The argparse parser of `asnet reproduce`."""
    parser = argparse.ArgumentParser(
        prog="asnet reproduce",
        description=(
            "The paper from the downloaded datasets, in one resumable command: prepare, "
            "verify, estimate the time, train (paper §3.3), evaluate, execute the "
            "notebooks, and write OUT/report/ with our numbers beside Tables 2-4. Run "
            "the same command again to resume; complete stages are skipped."),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", required=True,
                        help="the folder of the downloaded datasets, one folder or archive each")
    parser.add_argument("--out", default="reproduction",
                        help="output folder (default: %(default)s); the same --out resumes")
    train = parser.add_argument_group("training (defaults: the paper's)")
    train.add_argument("--input-size", type=number(int, 32), default=PAPER.input_size,
                       help="square input side in px, a multiple of 16 (default: %(default)s)")
    train.add_argument("--batch-size", type=positive(int), default=PAPER.batch_size,
                       help="images per training step (default: %(default)s)")
    train.add_argument("--epochs", type=positive(int), default=PAPER.epochs,
                       help="epochs (default: %(default)s)")
    train.add_argument("--steps-per-epoch", type=number(int, 0), default=PAPER.steps_per_epoch,
                       help="steps per epoch; 0 = one pass over the training images "
                       "(default: %(default)s)")
    train.add_argument("--backbone-weights", default=PAPER.backbone_weights,
                       help="VGG16 start: imagenet (downloaded once), none, or PATH of "
                       "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (default: %(default)s)")
    train.add_argument("--seed", type=number(int, 0), default=PAPER.seed,
                       help="seed of data order, augmentation and weights (default: %(default)s)")
    train.add_argument("--backup-every", type=positive(int), default=PAPER.backup_every,
                       help="steps between backups of the training state (an interrupted "
                       "run loses at most these; default: %(default)s)")
    train.add_argument("--verify-data", choices=VERIFY_MODES, default=PAPER.verify_data,
                       help="the check of the training files: quick, full or off "
                       "(default: %(default)s)")
    other = parser.add_argument_group("the other stages")
    other.add_argument("--timing-steps", type=positive(int), default=3,
                       help="training steps timed for the estimate (default: %(default)s)")
    other.add_argument("--estimate-only", action="store_true",
                       help="stop after printing the estimate (prepare, verify and the "
                       "estimate stay done for the next call)")
    other.add_argument("--eval-batch-size", type=positive(int), default=8,
                       help="images per forward pass in evaluation (default: %(default)s)")
    other.add_argument("--n-splits", type=positive(int), default=100,
                       help="shuffled-AUC splits (MIT benchmark: %(default)s)")
    other.add_argument("--allow-rejects", action="store_true",
                       help="accept datasets with rejected files (as asnet prepare)")
    other.add_argument("--allow-computed-maps", action="store_true",
                       help="accept SALICON 2017 without maps.zip (as asnet prepare)")
    other.add_argument("--no-notebooks", action="store_true",
                       help="do not execute the notebooks (the report has the tables anyway)")
    other.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def run(args):
    """Run the pipeline on the datasets under --raw; print the report."""
    source = RawSource(args.raw, allow_rejects=args.allow_rejects,
                       allow_computed_maps=args.allow_computed_maps, quiet=args.quiet)
    train = {"input_size": args.input_size, "batch_size": args.batch_size,
             "epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch,
             "backbone_weights": args.backbone_weights, "seed": args.seed,
             "backup_every": args.backup_every, "verify_data": args.verify_data}
    settings = Settings(train=train, eval_batch_size=args.eval_batch_size,
                        n_splits=args.n_splits, timing_steps=args.timing_steps,
                        notebooks=() if args.no_notebooks else Settings.notebooks,
                        progress=not args.quiet)
    report_devices("asnet reproduce")
    report = reproduce(source, args.out, settings,
                       stop_after="estimate" if args.estimate_only else None)
    if report is None:
        print("Stopped after the estimate (--estimate-only). Run the same command without "
              "it to go on: the stages done are skipped.")
        return
    with open(os.path.join(args.out, "report", REPORT_MD), encoding="utf-8") as f:
        print(f.read())


def main(argv=None):
    """`asnet reproduce`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run, failures=FAILURES)
