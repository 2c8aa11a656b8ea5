"""The training command the training tests run, and its environment."""

import os
import sys

from asnet_keras.names import SYNTHETIC_DATASETS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYNTHETIC = ",".join(SYNTHETIC_DATASETS)
STEPS = 3  # steps per epoch


def command(root, out, *extra):
    return [
        sys.executable, "-m", "asnet_keras", "train", "--data", root, "--out", out,
        "--datasets", SYNTHETIC, "--input-size", "32", "--batch-size", "4",
        "--epochs", "2", "--steps-per-epoch", str(STEPS), "--backbone-weights", "none",
        "--learning-rate", "3e-4", "--backup-every", "1", "--verbose", "0", *extra,
    ]


def environment():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO)
    return env
