"""`asnet demo`: the whole job on built-in data, `make demo` on a fresh machine with no dataset.

    asnet demo --out demo_out
    asnet demo --quick          # a pipeline check in minutes, into demo_out/quick/

The pipeline of `asnet reproduce` (`asnet_keras.reproduction`, docs/reproduce.md) with
the synthetic datasets as its source and small settings: the synthetic data
(`data_prep.synthetic`: fixation-only, mask-only and doubly-labelled scenes, like ASNet's
SALICON / THUS10K / DUT-OMRON mix, plus a held-out `synthetic-both/test` split), its
check, a few training steps timed and the time estimated, training in the paper
configuration (VGG16 from ImageNet when Keras' cached no-top weights file is present,
from scratch otherwise, said in the report; smaller inputs and fewer steps than the
paper), evaluation on the held-out split beside a centre-bias baseline, the notebooks,
and `OUT/report/` (README.md, report.json, pr_curves.png, qualitative.png). Running it
again skips what is complete.

`--quick` shrinks everything (tiny images, two training steps) to check the pipeline;
its numbers mean nothing. It writes into OUT/quick/, so it never mixes with a full run.
"""

import argparse
import dataclasses
import os
import sys

from asnet_keras.commands import run_command
from asnet_keras.reproduction import FAILURES, Settings, SyntheticSource, reproduce
from asnet_keras.reproduction.report import REPORT_MD

IMAGENET_FILE = os.path.join(
    os.path.expanduser("~"), ".keras", "models", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
)
QUICK_FOLDER = "quick"
QUICK_NOTE = ("**Quick mode** (`--quick`): a pipeline check with tiny images and two "
              "training steps; the numbers below mean nothing.")


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """Sizes of the demo.

    `FULL`'s training (4 epochs × 50 steps of 8 images at 64 px) took 133 s wall on 2
    cores at load ~1, the whole `make demo` 2 min 50 s with `.venv` in place
    (docs/reproduce.md §5); ASNet already beats the centre bias on every measure after
    its second epoch.
    """

    n_train: int  # training images per synthetic source
    n_test: int  # held-out synthetic-both test images
    image_size: int  # longer side of the synthetic images (px)
    input_size: int  # model input side (paper: 224)
    batch_size: int
    epochs: int
    steps_per_epoch: int
    learning_rate: float
    lr_decay_epochs: int
    n_splits: int  # sAUC splits
    n_qualitative: int  # images in the qualitative figure
    timing_steps: int  # training steps timed for the estimate


FULL = DemoSettings(n_train=200, n_test=60, image_size=128, input_size=64, batch_size=8,
                    epochs=4, steps_per_epoch=50, learning_rate=3e-4, lr_decay_epochs=3,
                    n_splits=100, n_qualitative=4, timing_steps=3)
QUICK = DemoSettings(n_train=6, n_test=6, image_size=48, input_size=32, batch_size=2,
                     epochs=1, steps_per_epoch=2, learning_rate=1e-4, lr_decay_epochs=2,
                     n_splits=10, n_qualitative=2, timing_steps=2)


def backbone_choice():
    """("imagenet" | "none", sentence for the report): the demo downloads nothing."""
    if os.path.isfile(IMAGENET_FILE):
        return "imagenet", f"VGG16 initialised from ImageNet (cached weights {IMAGENET_FILE})."
    return "none", (
        f"VGG16 trained from scratch: the ImageNet weights are not on this machine "
        f"({IMAGENET_FILE} is absent, and the demo downloads nothing). Put that file "
        "there to start from ImageNet, as the paper does."
    )


def pipeline_settings(demo, quick, progress):
    """The reproduction `Settings` of the demo's sizes `demo` (a `DemoSettings`)."""
    weights, sentence = backbone_choice()
    train = {"input_size": demo.input_size, "batch_size": demo.batch_size,
             "epochs": demo.epochs, "steps_per_epoch": demo.steps_per_epoch,
             "learning_rate": demo.learning_rate, "lr_decay_epochs": demo.lr_decay_epochs,
             "patience": demo.epochs, "backbone_weights": weights}
    return Settings(train=train, n_splits=demo.n_splits, timing_steps=demo.timing_steps,
                    n_examples=demo.n_qualitative, progress=progress,
                    title="ASNet demo on synthetic data", note=QUICK_NOTE if quick else "",
                    initialisation=sentence, tag="demo")


def run_demo(out, quick=False, settings=None, progress=True):
    """The reproduction pipeline on the synthetic data under `out` (`out/quick` with
    `quick`); returns the report.json content.

    Args:
        out: output folder.
        quick: tiny settings (`QUICK`) for a pipeline check.
        settings: a `DemoSettings` overriding `FULL` / `QUICK`.
        progress: progress bars and training output.
    """
    demo = settings or (QUICK if quick else FULL)
    source = SyntheticSource(n=demo.n_train, size=demo.image_size, n_test=demo.n_test)
    folder = os.path.join(out, QUICK_FOLDER) if quick else out
    return reproduce(source, folder, pipeline_settings(demo, quick, progress))


def build_parser():
    """The argparse parser of `asnet demo`."""
    parser = argparse.ArgumentParser(
        prog="asnet demo",
        description=(
            "The whole pipeline of `asnet reproduce` on built-in synthetic data, no "
            "download: generate data, check it, estimate the time, train ASNet, evaluate "
            "it on a held-out test split against a centre-bias baseline, execute the "
            "notebooks and write a report folder OUT/report/ (README.md, report.json, "
            "pr_curves.png, qualitative.png). Training takes most of the time: about "
            "2 minutes on 2 idle CPU cores, 3 minutes in all. Run it again to "
            "resume; complete stages are skipped."
        ),
    )
    parser.add_argument("--out", default="demo_out", help="output folder (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and two training steps, into OUT/quick/: a pipeline "
                        "check in a few minutes")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def run(args):
    """Run the demo, then print its report."""
    report = run_demo(args.out, quick=args.quick, progress=not args.quiet)
    folder = os.path.join(args.out, QUICK_FOLDER) if args.quick else args.out
    with open(os.path.join(folder, "report", REPORT_MD), encoding="utf-8") as f:
        print(f.read())
    if not args.quick and not report["asnet_beats_baseline_on_all"]:
        print("warning: ASNet did not beat the centre bias on every measure (see the "
              "report); the demo's training is short, try again on a less loaded machine "
              "or with ImageNet weights.", file=sys.stderr)


def main(argv=None):
    """`asnet demo`; returns the exit status (asnet_keras.commands.run_command)."""
    return run_command(argv, build_parser, run, failures=FAILURES)
