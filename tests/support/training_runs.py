"""The training command the training tests run, its environment, and the `kill -9` harness
(start a run, SIGKILL it once a given backup exists)."""

import os
import signal
import subprocess
import sys
import time

from asnet_keras.names import SYNTHETIC_DATASETS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYNTHETIC = ",".join(SYNTHETIC_DATASETS)
STEPS = 3  # steps per epoch
TRAIN_COMMAND = ("asnet_keras", "train")  # python -m asnet_keras train = asnet train
# The same command with deterministic ops and a record of each step (resume tests).
DETERMINISTIC_COMMAND = ("tests.support.deterministic_train",)


def command(root, out, *extra, module=TRAIN_COMMAND):
    return [
        sys.executable, "-m", *module, "--data", root, "--out", out,
        "--datasets", SYNTHETIC, "--input-size", "32", "--batch-size", "4",
        "--epochs", "2", "--steps-per-epoch", str(STEPS), "--backbone-weights", "none",
        "--learning-rate", "3e-4", "--backup-every", "1", "--verbose", "0", *extra,
    ]


def environment(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO, **extra)
    return env


def start(argv, env=None):
    """A training process (stdout and stderr together, as text)."""
    return subprocess.Popen(argv, cwd=REPO, env=env or environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def backup_of_step(out, step):
    """The index file of the backup a run in `out` writes after training step `step`."""
    return os.path.join(out, "backup", f"ckpt-{step}.index")


def kill_when_exists(process, path, timeout=400):
    """SIGKILL `process` as soon as `path` exists; returns the process's output.

    Fails (with the output) if the process ends first or `path` takes over `timeout` s.
    """
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert process.poll() is None, process.communicate()[0]
        assert time.time() < deadline, f"{path} not written within {timeout} s"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    return process.communicate()[0]
