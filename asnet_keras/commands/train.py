"""`asnet train`: train ASNet as in the paper, resumable, on one device or many hosts.

    asnet train --data data/prepared --out runs/asnet

Every flag is a field of `asnet_keras.training.config.TrainConfig` (defaults: the
paper's); the loop is `asnet_keras.training.loop.train`, whose docstring describes
resuming, and `asnet_keras.training.run_folder` what the run folder holds.
"""

import argparse
import dataclasses

from asnet_keras.commands import run_command
from asnet_keras.data.verification import MODES as VERIFY_MODES, DataProblems
from asnet_keras.devices import report_devices
from asnet_keras.model.options import RECURRENCES
from asnet_keras.model.variants import VARIANTS
from asnet_keras.training.config import (
    MIXED_PRECISION,
    STRATEGIES,
    TrainConfig,
    TrainingDiverged,
)
from asnet_keras.training.bad_samples import ON_BAD_SAMPLE, BadSampleError
from asnet_keras.training.loop import train
from asnet_keras.training.run_lock import RunLocked

_HELP = {
    "data": "prepared data root, as written by `asnet prepare` (docs/datasets.md §10)",
    "out": "run folder; run the same command again to resume it",
    "datasets": "comma-separated training datasets (paper: salicon,thus10k,dut-omron)",
    "input_size": "square input side in px, a multiple of 16, at least 32 (paper: 224)",
    "batch_size": "global batch size, split across replicas (paper: 10)",
    "epochs": "number of epochs (paper: 12)",
    "steps_per_epoch": "batches per epoch; 0 = ceil(training images / batch size)",
    "learning_rate": "Adam learning rate (paper: 1e-4)",
    "lr_decay_factor": "learning-rate factor applied every --lr-decay-epochs (paper: 0.1)",
    "lr_decay_epochs": "epochs between learning-rate decays (paper: 2)",
    "patience": "early stopping: stop after this many epochs without a lower val_loss",
    "backbone_weights": "VGG16 start: imagenet (download), none (random) or PATH to "
    "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 (for machines without internet)",
    "variant": "Table 5 variant: full, wo_fixation, wo_convlstm, wo_precision, wo_recall, "
    "wo_fmeasure, wo_mae, wo_extra",
    "fixation_28": "add the ASNet-28x28 fixation output (paper §4.1)",
    "recurrence": "ConvLSTM implementation: static (fast, exact) or stock (Keras ConvLSTM2D)",
    "mixed_precision": "none, bfloat16 (fast on CPUs with AVX-512-BF16 and on GPUs) or "
    "float16 (GPUs; loss scaling on)",
    "strategy": "none (one device), mirrored (all GPUs of this host, or --cpu-devices), "
    "multiworker (several hosts, configured by the TF_CONFIG environment variable)",
    "cpu_devices": "split the CPU into N logical devices (to try --strategy mirrored "
    "without GPUs); 0 = off",
    "seed": "seed of the data order, augmentation and initial weights",
    "augment": "flip and rotate training images (paper §3.3)",
    "rotation_degrees": "rotations are uniform in +-this many degrees",
    "backup_every": "steps between backups of the training state (resume loses at most these)",
    "verify_data": "before the first step, check every file the run reads: quick (headers, "
    "sizes and completeness, no pixel decoding; seconds for the paper's ~25,000 images, a "
    "few minutes from a cold disk), full (also decode every pixel; minutes) or off; "
    "verified files are remembered, so a resumed run re-checks only what changed "
    "(docs/data_integrity.md §1-2)",
    "on_bad_sample": "an unreadable sample (found by the check or in training): stop (name "
    "it; the same command resumes after the repair) or skip (leave it out, counted in "
    "history.csv and finished.json) (docs/data_integrity.md §3)",
    "jit_compile": "XLA-compile the training step",
    "verbose": "1: Keras progress bar; 0: one line per epoch",
}



def build_parser():
    """The argparse parser of `asnet train`; flags = TrainConfig fields."""
    parser = argparse.ArgumentParser(
        prog="asnet train",
        description=(
            "Train ASNet (CVPR 2018) on prepared datasets. Defaults reproduce the paper "
            "(§3.3): SALICON + THUS10K + DUT-OMRON, 224 px, batch 10, Adam 1e-4 /10 every "
            "2 epochs, 12 epochs, early stopping. Re-run the same command to resume."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        kwargs = {"help": _HELP[field.name], "default": default}
        if field.type is bool or isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif field.name == "datasets":
            kwargs["default"] = ",".join(default)
        elif isinstance(default, (int, float)):
            kwargs["type"] = type(default)
        if field.name == "variant":
            kwargs["choices"] = list(VARIANTS)
        choices = {
            "mixed_precision": MIXED_PRECISION,
            "strategy": STRATEGIES,
            "recurrence": RECURRENCES,
            "verify_data": VERIFY_MODES,
            "on_bad_sample": ON_BAD_SAMPLE,
        }
        if field.name in choices:
            kwargs["choices"] = choices[field.name]
        parser.add_argument(flag, **kwargs)
    return parser


def parse_args(argv=None):
    """Command-line arguments → TrainConfig; a value TrainConfig refuses is a usage error
    (exit 2, naming the flag)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return TrainConfig(**vars(args))
    except ValueError as error:
        parser.error(str(error))


def run(args):
    """Train with the TrainConfig the arguments give (a value it refuses: exit 2)."""
    config = TrainConfig(**vars(args))
    report_devices("asnet train")
    train(config)


def main(argv=None):
    """`asnet train`: 0 trained; 1 training failed (unreadable data, diverged, the run
    folder in use, a write failed); 2 usage error (unprepared data included)."""
    return run_command(argv, build_parser, run,
                       failures=(DataProblems, TrainingDiverged, BadSampleError, RunLocked))
