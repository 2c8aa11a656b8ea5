"""The training command the training tests run, its environment, and the `kill -9` harness
(start a run that holds still after the backup of a given step, SIGKILL it there)."""

import os
import signal
import subprocess
import sys
import time

from asnet_keras.names import SYNTHETIC_DATASETS
from tests.support.hold_after_backup import HOLD

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYNTHETIC = ",".join(SYNTHETIC_DATASETS)
STEPS = 3  # steps per epoch
# asnet train, able to hold after a backup (tests/support/hold_after_backup.py)
HOLDING_ASNET = ("tests.support.hold_after_backup",)  # python -m … COMMAND = asnet COMMAND
TRAIN_COMMAND = (*HOLDING_ASNET, "train")
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


def held_after_backup(out, step):
    """Environment entries that make a run into `out` hold after the backup of training
    step `step`, and the marker file it creates then (tests/support/hold_after_backup.py)."""
    marker = os.path.join(os.path.dirname(os.path.abspath(out)),
                          f"{os.path.basename(out)}.held-{step}")
    return {HOLD: f"{step}:{marker}"}, marker


def kill_when_held(process, marker, timeout=400, log=None):
    """SIGKILL `process` once it holds after a backup (its `marker` exists); returns the
    process's output (None when it writes to a file: `log`, read for the failure messages).

    Fails (with the output) if the process ends first or takes over `timeout` s.
    """

    def output():
        communicated = process.communicate()[0]
        return communicated if log is None else open(log).read()

    deadline = time.time() + timeout
    while not os.path.exists(marker):
        assert process.poll() is None, output()
        assert time.time() < deadline, f"{marker} not written within {timeout} s"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    communicated = process.communicate()[0]
    assert process.returncode == -signal.SIGKILL, output()
    return communicated
